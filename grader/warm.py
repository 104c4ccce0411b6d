"""Warm grading: a per-user server whose process has already imported what grading needs,
and forks a judge per grading, so that a grading costs what its specs cost.

::

    server (the zygote)   python -I -B -c <boot> serve    grader, pytest, hypothesis, numpy, torch imported
      └─ judge            fork per grading                 loads the challenge, its specs and reference
           └─ template    fork, before any of that         a worker zygote: holds nothing of the challenge
                └─ worker fork (double: re-parented to the judge, its subreaper), then exactly what a
                          cold worker does after its imports: limits, namespaces, Landlock, tripwires

- No challenge, spec, reference or submission is ever loaded in the server or in a
  template: the judge loads them after it has forked its template, and workers are forked
  from the template. A grading happens in processes forked for it alone, so nothing it
  does (monkey-patching torch, writing module globals, leaking threads, filling memory)
  can reach the server or a later grading.
- The server never initialises CUDA and runs no torch operation (OpenMP pools and CUDA
  contexts do not survive a fork); a worker that uses CUDA initialises it itself.
- It listens on a Unix socket in the user's runtime directory (folder 0700, socket 0600),
  exits after `IDLE_S` without gradings, and refuses a client whose grader, Python or
  library versions differ from its own (it then exits, and the client starts a new one).
- A verdict never depends on it: `grade` returns None where the server is absent, broken,
  busy past `ACCEPT_TIMEOUT_S` or refuses, and the caller grades cold.

One request a connection, one JSON line each way: ``{"op": "status"}``, ``{"op": "stop"}``
or ``{"op": "grade", ...}``, answered by the judge with ``{"judge": pid}`` at once and the
Report when it is done. A client that closes its connection cancels its grading.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import platform
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from importlib import metadata
from pathlib import Path

from grader import limits

GRADER_DIR = Path(__file__).resolve().parent
IDLE_S = float(os.environ.get("LMPREP_SERVE_IDLE_S", "600"))
ACCEPT_TIMEOUT_S = 10.0  # a server that has not forked a judge by then is busy or broken: grade cold
START_TIMEOUT_S = 60.0  # for a new server to import everything and listen
# what gradings import, so that no judge or worker pays for it again: the grader, pytest
# and its built-in plugins (loaded by each pytest.main), Hypothesis, numpy, torch and the
# modules torch loads on first use of shape functions (sympy: ~0.5 s), matplotlib's pyplot
PRELOAD = (
    "grader.judge", "grader.plugin", "grader.spec", "grader.fixtures", "pytest", "hypothesis",
    "hypothesis.strategies", "numpy", "torch", "torch.fx.experimental.symbolic_shapes", "matplotlib",
    "matplotlib.pyplot", "scipy.special", "scipy.stats",  # scipy: where installed (two challenges name it)
    "torch._dynamo",  # the first torch.optim optimizer imports it: ~1 s of every mini-gpt grading otherwise
)  # fmt: skip
# what the judge takes from the client's environment (the server's own was fixed when it started)
CLIENT_ENV = ("LMPREP_SANDBOX", "LMPREP_GRADER_CACHE", "HYPOTHESIS_STORAGE_DIRECTORY", "CUDA_VISIBLE_DEVICES")
BOOT = f"import sys; sys.path.insert(0, {str(GRADER_DIR.parent)!r}); from grader.warm import main; main(sys.argv[1:])"


# ---------------------------------------------------------------- where, and which version


def runtime_dir() -> Path:
    """``$LMPREP_RUNTIME_DIR``, else ``$XDG_RUNTIME_DIR/lmprep``, else a private folder in /tmp."""
    override = os.environ.get("LMPREP_RUNTIME_DIR")
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    return Path(xdg) / "lmprep" if xdg else Path(tempfile.gettempdir()) / f"lmprep-{os.getuid()}"


def socket_path() -> Path:
    """One server per Python interpreter (each virtual environment has its own)."""
    return runtime_dir() / f"grader-{hashlib.sha256(sys.executable.encode()).hexdigest()[:8]}.sock"


def _private_dir() -> Path:
    folder = runtime_dir()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = folder.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise OSError(f"{folder} is not a private folder of this user")
    return folder


def fingerprint() -> str:
    """Changes when the grader's code, Python or a grading library changes (the libraries'
    versions are read once per process: ~10 ms, where the grader's files are stat'ed anew)."""
    digest = hashlib.sha256(f"{sys.executable} {platform.python_version()} {_versions()}".encode())
    for path in sorted([*GRADER_DIR.glob("*.py"), *GRADER_DIR.glob("fixtures/*.py"), GRADER_DIR / "pytest.ini"]):
        info = path.stat()
        digest.update(f"{path.name} {info.st_size} {info.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


@functools.cache
def _versions() -> str:
    found = []
    for name in ("torch", "numpy", "pytest", "hypothesis", "lmprep"):
        try:
            found.append(f"{name}={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name}=-")
    return " ".join(found)


def enabled() -> bool:
    """Warm grading unless ``LMPREP_WARM=0``, on systems that have fork and Unix sockets."""
    return os.environ.get("LMPREP_WARM", "1") != "0" and hasattr(os, "fork") and hasattr(socket, "AF_UNIX")


# ---------------------------------------------------------------- the client


class Refused(Exception):
    """The server is absent, broken, busy or of another version."""


def _request(message: dict, timeout: float = 5.0, path: Path | None = None) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(str(path or socket_path()))
        sock.sendall(json.dumps(message).encode() + b"\n")
    except OSError as exc:
        sock.close()
        raise Refused(str(exc)) from None
    return sock


def _read_line(sock: socket.socket, deadline: float | None, buffer: bytearray) -> dict | None:
    """The next JSON line, or None at EOF; raises TimeoutError past ``deadline``."""
    while b"\n" not in buffer:
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            raise TimeoutError
        sock.settimeout(None if remaining is None else min(remaining, 1.0))
        try:
            chunk = sock.recv(1 << 16)
        except TimeoutError:
            continue
        if not chunk:
            return None
        buffer += chunk
    line, _, rest = bytes(buffer).partition(b"\n")
    buffer[:] = rest
    return json.loads(line)


def status(path: Path | None = None) -> dict | None:
    """The running server's status, or None."""
    try:
        with _request({"op": "status"}, path=path) as sock:
            return _read_line(sock, time.monotonic() + 5, bytearray())
    except (Refused, OSError, ValueError):
        return None


def stop_every_server(folder: Path | None = None) -> int:
    """Stop the server of every interpreter whose socket is in the runtime folder (the
    test suite's clean-up); returns how many were running."""
    sockets = sorted((folder or runtime_dir()).glob("grader-*.sock"))
    return sum(stop(path=path) is not None for path in sockets if status(path) is not None)


def stop(wait_s: float = 10.0, path: Path | None = None) -> bool:
    """Ask the server to stop; True once it has (or none was running)."""
    found = status(path)
    if found is None:
        return True
    try:
        with _request({"op": "stop"}, path=path) as sock:
            _read_line(sock, time.monotonic() + 5, bytearray())
    except (Refused, OSError, ValueError):
        pass
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if not _pid_alive(found["pid"]):
            return True
        time.sleep(0.05)
    return False


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie of ours is gone for every purpose here
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0] not in (b"Z", b"X")
    except OSError:
        return False


def ensure_server() -> dict:
    """The status of a running server of this version, starting one if needed."""
    mine = fingerprint()
    found = status()
    if found is not None and found.get("fingerprint") == mine:
        return found
    folder = _private_dir()
    with open(folder / "server.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one client starts it; the others wait, then use it
        found = status()
        if found is not None and found.get("fingerprint") != mine:
            stop()
            found = None
        if found is None:
            _spawn()
            deadline = time.monotonic() + START_TIMEOUT_S
            while found is None and time.monotonic() < deadline:
                time.sleep(0.05)
                found = status()
    if found is None or found.get("fingerprint") != mine:
        raise Refused("the grading server did not start")
    return found


def _spawn() -> None:
    """Start the server detached: its own session, no terminal, no inherited stdio, and
    not a child of ours (an intermediate process forks it and exits)."""
    from grader.proxy import PASS_ENV

    env = {k: os.environ[k] for k in (*PASS_ENV, *CLIENT_ENV, "HOME", "LMPREP_SERVE_IDLE_S") if k in os.environ}
    env.update(
        PYTHONHASHSEED="0",
        PYTHONDONTWRITEBYTECODE="1",
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1",
        MPLBACKEND="Agg",
        OMP_NUM_THREADS="2",
        MKL_NUM_THREADS="2",
        OPENBLAS_NUM_THREADS="2",
        LMPREP_RUNTIME_DIR=str(runtime_dir()),
    )
    cmd = [sys.executable, "-I", "-B", "-c", BOOT, "serve", str(socket_path())]
    detach = "import os, sys\nif os.fork() == 0:\n    os.execv(sys.argv[1], sys.argv[1:])\nos._exit(0)"
    log = open(runtime_dir() / "server.log", "wb")  # noqa: SIM115 - handed to the child
    with log:
        subprocess.run(
            [sys.executable, "-I", "-c", detach, *cmd],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            env=env,
            cwd="/",
            start_new_session=True,
            check=False,
        )


class Grading:
    """One warm grading in flight, which `cancel` stops (its judge sweeps its workers)."""

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.judge: int | None = None

    def cancel(self) -> None:
        if self.judge is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self.judge, signal.SIGTERM)
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 5
        while self.judge is not None and _pid_alive(self.judge) and time.monotonic() < deadline:
            time.sleep(0.02)


def grade(request: dict, env: dict, timeout_s: float, on_start=None) -> dict | None:
    """Have the server grade ``request`` (the judge's arguments, ``env`` the client's
    values of `CLIENT_ENV`); returns the Report as a dict, or None where the server could
    not or would not: the caller then grades cold. ``on_start(grading)`` is told of the
    grading so that it can be cancelled."""
    try:
        ensure_server()
        env = {k: env[k] for k in CLIENT_ENV if k in env}
        sock = _request({"op": "grade", "fingerprint": fingerprint(), "args": request, "env": env})
    except (Refused, OSError):
        return None
    grading = Grading(sock)
    buffer = bytearray()
    try:
        if on_start is not None:
            on_start(grading)
        started = _read_line(sock, time.monotonic() + ACCEPT_TIMEOUT_S, buffer)
        if not started or "judge" not in started:
            return None
        grading.judge = started["judge"]
        report = _read_line(sock, time.monotonic() + timeout_s, buffer)
        return report if report and "verdict" in report else None
    except TimeoutError:
        grading.cancel()
        return {"verdict": "Internal Error", "challenge": Path(request["challenge"]).name,
                "message": "the judge did not finish in time and was stopped"}  # fmt: skip
    except (OSError, ValueError):
        return None
    finally:
        sock.close()


# ---------------------------------------------------------------- the server


def serve(path: str) -> None:
    """Import what grading needs, then fork a judge per grading until idle for `IDLE_S`."""
    started = time.monotonic()
    loaded = []
    for name in (*PRELOAD, *_pytest_plugins()):
        try:
            __import__(name)
            loaded.append(name)
        except Exception:  # noqa: BLE001 - a library that is not installed is imported by nobody
            pass
    with contextlib.suppress(Exception):  # its first test's gc.collect(), paid once here, not by every judge
        from grader.judge import settle_hypothesis

        settle_hypothesis()
    mine = fingerprint()
    limits.become_subreaper()  # what escapes a judge that died lands here, and is killed
    os.umask(0o077)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(64)
    inode = os.stat(path).st_ino
    children: set[int] = set()
    served, last = 0, time.monotonic()
    accepting = True
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(SystemExit(0)))
    try:
        while accepting or children:
            children -= _reaped(children)
            _kill_strays(children)
            if not children and time.monotonic() - last > IDLE_S:
                break
            if not accepting:
                time.sleep(0.05)
                continue
            if not select.select([listener], [], [], 1.0)[0]:
                continue
            conn, _ = listener.accept()
            last = time.monotonic()
            try:
                conn.settimeout(5)
                request = _read_line(conn, time.monotonic() + 5, bytearray()) or {}
            except (OSError, ValueError, TimeoutError):
                conn.close()
                continue
            op = request.get("op")
            if op == "grade" and request.get("fingerprint") == mine:
                pid = os.fork()
                if pid == 0:
                    listener.close()
                    _judge_child(conn, request)  # never returns
                children.add(pid)
                served += 1
            else:
                reply = {"pid": os.getpid(), "fingerprint": mine, "served": served, "running": len(children),
                         "uptime_s": round(time.monotonic() - started, 1), "rss_mb": _rss_mb(os.getpid()),
                         "children_rss_mb": sum(_rss_mb(c) for c in children), "preloaded": loaded,
                         "socket": path}  # fmt: skip
                if op == "grade":
                    reply["refused"] = "another version of the grader: this server stops"
                with contextlib.suppress(OSError):
                    conn.sendall(json.dumps(reply).encode() + b"\n")
                if op in ("stop", "grade"):  # a refused grade: a newer server takes over
                    accepting = False
                    _unlink_if_ours(path, inode)
            conn.close()
    finally:
        _unlink_if_ours(path, inode)


def _pytest_plugins() -> list[str]:
    """pytest's built-in plugins, which every pytest.main imports."""
    try:
        from _pytest.config import default_plugins
    except ImportError:
        return []
    return [f"_pytest.{name}" for name in default_plugins]


def _reaped(children: set[int]) -> set[int]:
    done = set()
    for pid in children:
        try:
            if os.waitpid(pid, os.WNOHANG)[0]:
                done.add(pid)
        except ChildProcessError:
            done.add(pid)
    return done


def _kill_strays(children: set[int]) -> None:
    """Kill every process re-parented to the server (escaped from a judge that died)."""
    strays = [p for p in limits.descendants(os.getpid()) if p not in children and not _is_judge_family(p, children)]
    for pid in strays:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if strays:
        limits.reap()


def _is_judge_family(pid: int, judges: set[int]) -> bool:
    """Whether ``pid`` descends from one of the running judges (theirs to sweep)."""
    try:
        while pid > 1:
            stat = Path(f"/proc/{pid}/stat").read_bytes()
            pid = int(stat[stat.rfind(b")") + 2 :].split()[1])
            if pid in judges:
                return True
    except (OSError, ValueError, IndexError):
        return False
    return False


def _rss_mb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) >> 10
    except OSError:
        pass
    return 0


def _unlink_if_ours(path: str, inode: int) -> None:
    with contextlib.suppress(OSError):
        if os.stat(path).st_ino == inode:
            os.unlink(path)


# ---------------------------------------------------------------- a forked judge


def _judge_child(conn: socket.socket, request: dict) -> None:
    """Grade one request in this forked process and send the Report; never returns."""
    code = 0
    try:
        from grader import judge, proxy

        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        limits.become_subreaper()  # before the template: the workers it forks become ours
        os.environ.update(request.get("env", {}))
        args = request["args"]
        template = Template()  # before the challenge is loaded: it must hold nothing of it
        proxy.FORK_WORKER = template.fork_worker
        proxy.KEEP = frozenset({template.pid})
        judge.stop_on_sigterm(args["workdir"])
        threading.Thread(target=_stop_on_hang_up, args=(conn,), daemon=True).start()
        conn.sendall(json.dumps({"judge": os.getpid()}).encode() + b"\n")
        report = judge.judge_report(
            args["challenge"], args["submission"], args["device"], args["workdir"],
            args.get("public_only", False), args.get("protected", []),
        )  # fmt: skip
        report.timings["warm"] = 1.0
        conn.sendall(report.to_json(indent=None).encode() + b"\n")
    except BaseException:  # noqa: BLE001 - no report: the client grades cold
        code = 1
    finally:
        with contextlib.suppress(Exception):
            limits.sweep(os.getpid())
        os._exit(code)


def _stop_on_hang_up(conn: socket.socket) -> None:
    """The client sends nothing after its request: once its end is readable it has hung up
    (closed, killed, interrupted), and the judge stops as on SIGTERM."""
    poller = select.poll()
    poller.register(conn, select.POLLIN | select.POLLHUP | select.POLLERR)
    poller.poll()
    os.kill(os.getpid(), signal.SIGTERM)


class Template:
    """A worker zygote for one judge: forked before the judge loads anything of the
    challenge; it forks workers on request (`fork_worker`)."""

    def __init__(self) -> None:
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sys.stdout.flush()
        sys.stderr.flush()
        self.pid = os.fork()
        if self.pid == 0:
            self.sock.close()
            _template_loop(theirs)  # never returns
        theirs.close()

    def fork_worker(self, payload: dict, env: dict, home: str, output_fd: int) -> Forked:
        message = json.dumps({"payload": payload, "env": env, "home": home}).encode()
        socket.send_fds(self.sock, [message], [payload["read_fd"], payload["write_fd"], output_fd])
        reply = self.sock.recv(64)
        if not reply:
            raise OSError("the worker zygote is gone")
        return Forked(int(reply))


class Forked:
    """A worker forked by the template, re-parented to the judge: Popen's pid, poll, wait."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped by a sweep: like Popen, no status to tell
                self.returncode = 0
                return 0
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout)
            time.sleep(0.002)
        return self.returncode


def _template_loop(sock: socket.socket) -> None:
    limits.die_with_parent()
    limits.prctl(limits.PR_SET_DUMPABLE, 0)  # no worker may read its memory (nor the judge's)
    try:
        while True:
            message, fds, _, _ = socket.recv_fds(sock, 1 << 20, 3)
            if not message:
                break
            request = json.loads(message)
            read, write = os.pipe()
            middle = os.fork()
            if middle == 0:  # forks the worker and leaves: the worker is re-parented to the judge
                os.close(read)
                worker = os.fork()
                if worker == 0:
                    os.close(write)
                    sock.close()
                    _become_worker(request, fds)  # never returns
                os.write(write, str(worker).encode())
                os._exit(0)
            os.close(write)
            with os.fdopen(read, "rb") as fh:
                worker = fh.read()
            os.waitpid(middle, 0)
            for fd in fds:
                os.close(fd)
            sock.send(worker)
    finally:
        os._exit(0)


def _become_worker(request: dict, fds: list[int]) -> None:
    """Turn this forked process into what a cold worker is when it starts, then run it."""
    from grader import worker

    read_fd, write_fd, output_fd = fds
    os.setsid()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(output_fd, 1)
    os.dup2(output_fd, 2)
    keep = {0, 1, 2, read_fd, write_fd}
    for entry in os.listdir("/proc/self/fd"):
        fd = int(entry)
        if fd not in keep:
            with contextlib.suppress(OSError):
                os.close(fd)
    for signum in (signal.SIGTERM, signal.SIGCHLD, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)
    limits.prctl(limits.PR_SET_DUMPABLE, 1)  # as after exec: namespaces need it
    os.chdir(request["home"])
    os.environ.clear()
    os.environ.update(request["env"])
    tempfile.tempdir = None  # found again from TMPDIR, as a cold worker would
    payload = request["payload"]
    payload.update(read_fd=read_fd, write_fd=write_fd)
    deadline = time.monotonic() + 5
    while os.getppid() != payload["judge_pid"] and time.monotonic() < deadline:
        time.sleep(0.001)  # until the middle process has gone and we belong to the judge
    code = 0
    try:
        worker.run(payload)
    except SystemExit as exc:  # as the interpreter of a cold worker would end
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 1
        if not isinstance(exc.code, int) and exc.code is not None:
            print(exc.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - printed into the output, like an uncaught exception
        traceback.print_exc()
        code = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def main(argv: list[str]) -> None:
    if argv[:1] == ["serve"] and len(argv) == 2:
        serve(argv[1])
        os._exit(0)  # skip interpreter teardown
    sys.exit("usage: python -m grader.warm serve SOCKET")


if __name__ == "__main__":
    main(sys.argv[1:])
