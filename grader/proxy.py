"""The judge's side of the worker: process control, deadlines, and proxies for remote objects.

`Session` owns the current worker process. It spawns one (the judge does this first,
so the worker's imports overlap the judge's), replaces it after a crash or timeout, and
turns every way a call can go wrong into an exception the pytest plugin maps to an
outcome. `RemoteObject` stands for an object that lives in the worker: reading an
attribute, calling it or one of its methods is a round trip that returns data or another
`RemoteObject`. `Submission` is the remote submission module, bound to a device.
"""

from __future__ import annotations

import builtins
import json
import os
import select
import signal
import site
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader import limits as limits_mod
from grader import wire
from grader.limits import Limits

GRADER_PARENT = str(Path(__file__).resolve().parent.parent)
FIXTURES_DIR = str(Path(__file__).resolve().parent / "fixtures")
# -I drops the user's site-packages: put it back after the system's, where it would have been
_USER_SITE = [site.getusersitepackages()] if site.ENABLE_USER_SITE and os.path.isdir(site.getusersitepackages()) else []
BOOTSTRAP = (
    f"import sys; sys.path.insert(0, {GRADER_PARENT!r}); sys.path.extend({_USER_SITE!r}); "
    "from grader.worker import main; main()"
)
MAX_TIMEOUTS = 2  # after this many tests time out, the rest fail at once
MAX_CRASHES = 2  # after the worker died in this many tests, the rest fail at once
CALLER_PID: int | None = None  # the judge's caller; when it is gone, the judge stops (see `caller_gone`)
# or a callable(payload, env, home, output_fd) -> a process with pid, poll() and wait(timeout)
# that starts a worker by fork instead of exec (warm grading: grader.warm)
FORK_WORKER = None
KEEP: frozenset[int] = frozenset()  # the judge's own helpers that sweeps leave alone (the worker zygote)
POLL_SLICE_S = 0.5  # how often a wait for the worker looks at the caller
PASS_ENV = ("PATH", "LANG", "LC_ALL", "TZ", "CUDA_VISIBLE_DEVICES", "LD_LIBRARY_PATH", "SYSTEMROOT")


# ---------------------------------------------------------------- exceptions


class SubmissionError(Exception):
    """A failure the submission caused; ``outcome`` names the test outcome."""

    outcome = "runtime_error"


class TimeLimitExceeded(SubmissionError):
    outcome = "time_limit"


class MemoryLimitExceeded(SubmissionError):
    outcome = "memory_limit"


class OutputLimitExceeded(SubmissionError):
    outcome = "output_limit"


class Crashed(SubmissionError):
    outcome = "crashed"


class ForbiddenAPI(SubmissionError):
    outcome = "forbidden"


class WorkerFault(SubmissionError):
    """The worker ended or broke the protocol during a call (os._exit, garbage on the pipe)."""


class GraderFault(Exception):
    """A fault of the grader or the machine: never blamed on the learner."""


class RemoteException(Exception):
    """An exception the learner's code raised; re-raised here as data.

    For built-in exception types the instance is also an instance of that type, so
    ``pytest.raises(ValueError)`` catches a learner's ``ValueError``.
    """

    type_name = "Exception"
    remote_message = ""
    remote_traceback = ""

    def __str__(self) -> str:
        text = f"{self.type_name}: {self.remote_message}" if self.remote_message else self.type_name
        return f"{text}\n{self.remote_traceback}" if self.remote_traceback else text


_remote_classes: dict[str, type] = {}


def remote_exception(error: dict) -> RemoteException:
    name = str(error.get("type", "Exception"))
    cls = _remote_classes.get(name)
    if cls is None:
        cls = RemoteException
        base = getattr(builtins, name, None)
        if error.get("builtin") and isinstance(base, type) and issubclass(base, Exception):
            try:
                cls = type(f"Remote{name}", (RemoteException, base), {})
            except TypeError:
                cls = RemoteException
        _remote_classes[name] = cls
    try:
        exc = cls(str(error.get("message", "")))
    except Exception:  # noqa: BLE001 - a built-in type with a picky constructor
        exc = RemoteException(str(error.get("message", "")))
    exc.type_name = name
    exc.remote_message = str(error.get("message", ""))
    exc.remote_traceback = str(error.get("traceback", ""))
    return exc


# ---------------------------------------------------------------- worker processes


def caller_gone() -> None:
    """If whoever started the judge is gone, stop the judge the way SIGTERM does."""
    if CALLER_PID is not None and os.getppid() != CALLER_PID:
        os.kill(os.getpid(), signal.SIGTERM)


@dataclass
class WorkerConfig:
    submission: str
    workdir: str
    limits: Limits = field(default_factory=Limits)
    forbidden: list[str] = field(default_factory=list)
    preload: list[str] = field(default_factory=list)
    device: str = "cpu"
    startup_timeout_s: float = 120.0
    cache_dir: str | None = None
    protected: list[str] = field(default_factory=list)  # folders the worker must not read
    sandbox: bool = True  # namespaces and Landlock where the kernel allows them

    @property
    def output_path(self) -> str:
        return os.path.join(self.workdir, "output.txt")


class _Deadline(Exception):
    pass


class WorkerProcess:
    def __init__(self, config: WorkerConfig):
        self.config = config
        to_worker_r, self.to_worker = os.pipe()
        self.from_worker, from_worker_w = os.pipe()
        payload = {
            "read_fd": to_worker_r,
            "write_fd": from_worker_w,
            "submission": config.submission,
            "judge_pid": os.getpid(),
            "limits": config.limits.to_dict(),
            "forbidden": config.forbidden,
            "preload": config.preload,
            "device": config.device,
            "fixtures_dir": FIXTURES_DIR,
            "protected": config.protected,
            "sandbox": config.sandbox,
            "cache_dir": config.cache_dir,
        }
        home = os.path.join(config.workdir, "home")
        os.makedirs(home, exist_ok=True)
        env = {k: os.environ[k] for k in PASS_ENV if k in os.environ}
        threads = str(config.limits.threads)
        env.update(
            HOME=home,
            TMPDIR=home,
            PYTHONHASHSEED="0",
            PYTHONDONTWRITEBYTECODE="1",
            OMP_NUM_THREADS=threads,
            MKL_NUM_THREADS=threads,
            OPENBLAS_NUM_THREADS=threads,
            MPLBACKEND="Agg",
            MPLCONFIGDIR=config.cache_dir or os.path.join(home, ".matplotlib"),
        )
        with limits_mod.open_nofollow(config.output_path, "ab") as out:
            if FORK_WORKER is not None:  # warm grading: forked from a zygote (grader.warm)
                self.proc = FORK_WORKER(payload, env, home, out.fileno())
            else:
                self.proc = subprocess.Popen(
                    [sys.executable, "-I", "-B", "-c", BOOTSTRAP, json.dumps(payload)],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=out,
                    pass_fds=(to_worker_r, from_worker_w),
                    cwd=home,
                    env=env,
                    start_new_session=True,
                )
        os.close(to_worker_r)
        os.close(from_worker_w)
        self.pid = self.proc.pid
        self.killed_for_time = False
        self.hello: dict | None = None

    def _read(self, deadline: float) -> Any:
        poller = select.poll()
        poller.register(self.from_worker, select.POLLIN | select.POLLHUP)

        def check() -> None:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _Deadline
                if poller.poll(min(remaining, POLL_SLICE_S) * 1000):
                    return
                caller_gone()

        header, body = wire.read_frame(self.from_worker, check)
        return header, body

    def wait_hello(self) -> dict:
        try:
            header, body = self._read(time.monotonic() + self.config.startup_timeout_s)
            self.hello = wire.decode(header, body)
        except (_Deadline, EOFError, wire.WireError) as exc:
            status = self.kill()
            raise GraderFault(f"the worker did not start ({type(exc).__name__}, status {status})") from None
        if self.hello.get("preload_error"):
            self.kill()
            raise GraderFault(f"the worker {self.hello['preload_error']}")
        return self.hello

    def exchange(self, frame: bytes, deadline: float, on_ref) -> dict:
        """Send one request frame and return the decoded reply, or raise."""
        try:
            wire.write_frame(self.to_worker, frame)
            header, body = self._read(deadline)
        except _Deadline:
            self.killed_for_time = True
            self.kill()
            raise TimeLimitExceeded("") from None
        except (EOFError, BrokenPipeError, OSError, wire.WireError) as exc:
            raise self._death(exc) from None
        try:
            reply = wire.decode(header, body, on_ref=on_ref)
        except wire.WireError as exc:
            self.kill()
            raise WorkerFault(f"the submission corrupted the grader's channel ({exc})") from None
        if not isinstance(reply, dict) or "ok" not in reply:
            self.kill()
            raise WorkerFault("the submission corrupted the grader's channel")
        return reply

    def _death(self, exc: Exception) -> SubmissionError:
        """Why the worker stopped answering, as the exception the test gets."""
        if isinstance(exc, wire.WireError):
            self.kill()
            return WorkerFault(f"the submission corrupted the grader's channel ({exc})")
        try:
            status = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            status = self.kill()
        self.kill()
        if status is not None and status < 0:
            sig = -status
            if sig == signal.SIGXCPU:
                return TimeLimitExceeded("the CPU-time limit was reached")
            if sig == signal.SIGXFSZ:
                return OutputLimitExceeded(f"the submission printed more than {self.config.limits.output_limit_kb} KB")
            name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
            return Crashed(f"the process was killed by signal {name}")
        if status == limits_mod.MEMORY_WATCHDOG_EXIT:
            return MemoryLimitExceeded("")
        return WorkerFault(f"the submission ended the worker process (exit status {status}) during the call")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> int | None:
        """Kill the worker, its process group and every descendant; return its status."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        limits_mod.sweep(os.getpid(), KEEP)
        try:
            status = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            status = None
        for fd in (self.to_worker, self.from_worker):
            try:
                os.close(fd)
            except OSError:
                pass
        self.to_worker = self.from_worker = -1
        return status


# ---------------------------------------------------------------- the session


@dataclass
class CallInfo:
    """What the judge saw of the last call: wall time and which inputs changed."""

    duration_s: float = 0.0
    mutated: list = field(default_factory=list)


@dataclass
class GradResult:
    output: Any
    input_grads: dict
    param_grads: dict


class Session:
    def __init__(self, config: WorkerConfig, time_limit_s: float):
        self.config = config
        self.default_limit = time_limit_s
        self.worker: WorkerProcess | None = None
        self.generation = 0
        self.interface: dict | None = None
        self.hello: dict | None = None
        self.budget = self.test_limit = time_limit_s
        self.last_call = CallInfo()
        self.workers_started = 0
        self.timeouts = 0  # tests that ran out of time; after MAX_TIMEOUTS the rest fail fast
        self.crashes: list[SubmissionError] = []  # calls that ended the worker; after MAX_CRASHES the rest fail fast
        # where the spec phase goes: round trips, their wall time here, the worker's time in them
        self.calls, self.calls_s, self.calls_worker_s = 0, 0.0, 0.0
        self.callables: set[tuple[str, str]] = set()  # (owner type, attribute) seen to be callable: see RemoteMethod

    # -- lifecycle

    def spawn(self) -> WorkerProcess:
        """Start a worker without waiting for it (its imports run while we go on)."""
        self.worker = WorkerProcess(self.config)
        self.generation += 1
        self.workers_started += 1
        return self.worker

    def ready(self) -> WorkerProcess:
        """The current worker, started and with the submission imported."""
        worker = self.worker
        if worker is None or worker.to_worker < 0 or not worker.alive():
            if worker is not None:
                worker.kill()
            worker = self.spawn()
        if worker.hello is None:
            self.hello = worker.wait_hello()
            reply = self._request_raw(worker, {"op": "import"}, self.default_limit)
            if not reply["ok"]:
                raise self._error(reply["error"])
            self.interface = reply["value"]
        return worker

    def close(self) -> None:
        if self.worker is not None:
            self.worker.kill()
            self.worker = None
        limits_mod.sweep(os.getpid(), KEEP)

    # -- requests

    def begin_test(self, time_limit_s: float | None) -> None:
        self.budget = self.test_limit = time_limit_s or self.default_limit

    def _request_raw(self, worker: WorkerProcess, message: dict, budget: float) -> dict:
        generation = self.generation
        start = time.monotonic()
        frame = wire.encode(_to_wire(message))
        try:
            return worker.exchange(frame, start + budget, lambda hid, t: RemoteObject(self, hid, t, generation))
        except TimeLimitExceeded as exc:
            self.timeouts += 1
            if not str(exc):
                raise TimeLimitExceeded(f"the test took longer than its {self.test_limit:g} s time limit") from None
            raise
        except SubmissionError as exc:  # the worker is gone: the next test pays for a fresh one
            self.crashes.append(exc)
            raise

    def request(self, message: dict, *, reply: bool = False) -> Any:
        """The value the worker answers ``message`` with (``reply``: its whole reply)."""
        if self.timeouts >= MAX_TIMEOUTS:
            raise TimeLimitExceeded(f"not run: {self.timeouts} earlier tests exceeded the time limit")
        if len(self.crashes) >= MAX_CRASHES:
            last = self.crashes[-1]
            raise type(last)(f"not run: the worker died in {len(self.crashes)} earlier tests (last: {last})")
        worker = self.ready()
        start = time.monotonic()
        try:
            answer = self._request_raw(worker, message, self.budget)
        finally:
            elapsed = time.monotonic() - start
            self.budget = max(self.budget - elapsed, 0.0)
            self.calls += 1
            self.calls_s += elapsed
        self.calls_worker_s += answer.get("duration_s", 0.0)
        self.last_call = CallInfo(duration_s=elapsed, mutated=list(answer.get("mutated", [])))
        if self._output_size() >= self.config.limits.output_limit_kb << 10:
            worker.kill()  # the submission ignored SIGXFSZ and went on past the cap
            raise OutputLimitExceeded(f"the submission printed more than {self.config.limits.output_limit_kb} KB")
        if not answer["ok"]:
            raise self._error(answer["error"])
        return answer if reply else answer["value"]

    def _output_size(self) -> int:
        try:
            return os.stat(self.config.output_path, follow_symlinks=False).st_size
        except OSError:
            return 0

    def _error(self, error: dict) -> Exception:
        kind = error.get("kind")
        if kind == "forbidden":
            names = ", ".join(error.get("names") or []) or "a forbidden API"
            exc = ForbiddenAPI(f"the submission called {names}, which this challenge forbids")
            exc.diagnosis = (
                f"{names} does the work this challenge asks for: write it yourself"  # as judge's static scan
            )
            return exc
        if kind == "memory":
            return MemoryLimitExceeded(
                f"{error.get('type', 'MemoryError')}: the submission needed more than "
                f"{self.config.limits.memory_limit_mb} MB"
            )
        if kind == "exit":
            return WorkerFault(f"the submission raised {error.get('type')} ({error.get('message')}) to stop the worker")
        if kind == "grader":
            return GraderFault(f"the spec asked the worker for something impossible: {error.get('message')}")
        if kind == "unencodable":
            return WorkerFault(f"the submission returned something the grader cannot read: {error.get('message')}")
        return remote_exception(error)

    # -- operations used by proxies

    def check_generation(self, obj: RemoteObject) -> None:
        if obj._generation != self.generation:
            raise WorkerFault("this object belonged to a worker that has since been restarted")


def _to_wire(value: Any) -> Any:
    if isinstance(value, RemoteMethod):
        value = value._fetch()
    if isinstance(value, RemoteObject):
        value._session.check_generation(value)
        return wire.Handle(value._hid, value._type)
    if isinstance(value, list):
        return [_to_wire(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_to_wire(v) for v in value)
    if isinstance(value, dict):
        return {k: _to_wire(v) for k, v in value.items()}
    return value


class RemoteObject:
    """An object in the worker. Attribute reads, calls and item access are round trips."""

    __slots__ = ("_session", "_hid", "_type", "_generation", "_device", "_name")

    def __init__(self, session: Session, hid: int, type_name: str, generation: int, device: str | None = None):
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_hid", hid)
        object.__setattr__(self, "_type", type_name)
        object.__setattr__(self, "_generation", generation)
        object.__setattr__(self, "_device", device)
        object.__setattr__(self, "_name", "")  # the attribute it was read as, for messages

    def _op(self, op: str, **fields: Any) -> Any:
        self._session.check_generation(self)
        return self._session.request({"op": op, "target": self._hid, "device": self._device, **fields})

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        key = (self._type, name)
        if key in self._session.callables:
            return RemoteMethod(self, name)
        value = self._bind(self._op("getattr", name=name))
        if isinstance(value, RemoteObject):
            object.__setattr__(value, "_name", value._name or name)
            if value._type in CALLABLE_TYPES:
                self._session.callables.add(key)
        return value

    def __setattr__(self, name: str, value: Any) -> None:
        self._op("setattr", name=name, value=value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._bind(self._op("call", args=args, kwargs=kwargs))

    def __getitem__(self, key: Any) -> Any:
        return self._bind(self._op("call", path=["__getitem__"], args=(key,), kwargs={}))

    def __len__(self) -> int:
        return self._op("call", path=["__len__"], args=(), kwargs={})

    def _bind(self, value: Any) -> Any:
        """Remote objects that come back inherit this one's device."""
        if isinstance(value, RemoteObject) and value._device is None:
            object.__setattr__(value, "_device", self._device)
        return value

    def __repr__(self) -> str:  # what a learner may read in a message: their type, not the grader's proxy
        return f"<{self._type} object>"


# what a method, a function or a class is called on the wire (a handle's type_name)
CALLABLE_TYPES = frozenset({"method", "function", "type", "builtin_function_or_method", "method-wrapper"})


class RemoteMethod:
    """``owner.name`` where that attribute of an object of the same type was a method, a
    function or a class before: calling it is one round trip (the worker looks the
    attribute up and calls it, as a read then a call would), not two; any other use
    reads the attribute first. `lm.prob(w, c)` in a loop costs one trip per call."""

    __slots__ = ("_owner", "_name", "_value")

    def __init__(self, owner: RemoteObject, name: str):
        object.__setattr__(self, "_owner", owner)
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_value", None)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        owner = self._owner
        return owner._bind(owner._op("call", path=[self._name], args=args, kwargs=kwargs))

    def _fetch(self) -> RemoteObject:
        if self._value is None:
            owner = self._owner
            object.__setattr__(self, "_value", owner._bind(owner._op("getattr", name=self._name)))
        return self._value

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._fetch(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._fetch(), name, value)

    def __getitem__(self, key: Any) -> Any:
        return self._fetch()[key]

    def __len__(self) -> int:
        return len(self._fetch())

    def __repr__(self) -> str:
        return repr(self._fetch())


class Submission(RemoteObject):
    """The learner's module in the worker, bound to the device a test runs on.

    Tensor arguments travel as CPU tensors and are moved to ``device`` in the worker;
    results come back to the judge's CPU with `wire.remote_meta` telling where they were.
    """

    __slots__ = ()

    def __init__(self, session: Session, device: str = "cpu"):
        super().__init__(session, 0, "module", session.generation, device)

    def _op(self, op: str, **fields: Any) -> Any:
        session = self._session
        session.ready()
        object.__setattr__(self, "_generation", session.generation)
        return session.request({"op": op, "target": 0, "device": self._device, **fields})

    @property
    def device(self) -> str:
        return self._device

    @property
    def last_call(self) -> CallInfo:
        return self._session.last_call

    def on(self, device: str) -> Submission:
        return Submission(self._session, device)

    def make_fixture(self, name: str, *args: Any, **kwargs: Any) -> RemoteObject:
        """A trusted `grader.fixtures` object built in the worker, on this device."""
        return self._bind(self._op("fixture", name=name, args=args, kwargs=kwargs))

    def call_each(self, fn: RemoteObject | RemoteMethod, calls: list[tuple], describe=None) -> list:
        """``[fn(*args) for args in calls]`` computed in the worker in one round trip.

        The first call that raises stops the rest; its exception is raised here as a
        single call's would be, its message naming the call (``describe(args)``, by
        default ``name(args...)``). Inputs are not checked for mutation."""
        path = []
        if isinstance(fn, RemoteMethod):
            fn, path = fn._owner, [fn._name]
        if isinstance(fn, Submission):
            self._session.ready()
            object.__setattr__(fn, "_generation", self._session.generation)
        calls = [tuple(args) for args in calls]
        self._session.check_generation(fn)
        answer = self._session.request(
            {"op": "calls", "target": fn._hid, "path": path, "device": self._device, "calls": calls}, reply=True
        )
        failed = answer.get("failed")
        if failed is None:
            return [fn._bind(v) for v in answer["value"]]
        exc = self._session._error(failed["error"])
        if isinstance(exc, RemoteException):
            args = calls[failed["index"]]
            where = describe(*args) if describe else f"{path[-1] if path else fn._type}({', '.join(map(repr, args))})"
            exc.remote_message = f"{exc.remote_message} (in the call {where})"
            exc.args = (exc.remote_message,)
        raise exc

    def seed(self, seed: int) -> None:
        """Seed the worker's global RNGs (torch, numpy, random), as ``torch.manual_seed(seed)``
        would in the learner's own script: their model's random initialisation is then
        reproducible."""
        self._op("seed", seed=seed)

    def rng_digest(self) -> str:
        """A digest of the worker's global RNG states (torch, numpy, random)."""
        return self._op("rng_digest")

    def generator(self, seed: int) -> wire.GeneratorSeed:
        """A seeded torch.Generator, built in the worker on this device."""
        return wire.GeneratorSeed(seed, self._device if self._device != "cpu" else "cpu")

    def grad_call(self, target: RemoteObject, *args: Any, wrt=(), grad_outputs=None, **kwargs: Any) -> GradResult:
        """Call ``target`` with gradients on the inputs in ``wrt`` (indices, keyword
        names, or paths into nested arguments such as ``(2, 0)``), back-propagate
        ``grad_outputs`` (matching the output's tensors, None to skip one) and return the
        output with input gradients (keyed like ``wrt``) and parameter gradients (of the
        target module and of any module passed as an argument)."""
        session = self._session
        path = []
        if isinstance(target, RemoteMethod):  # grad_call(sub.f, ...) or grad_call(model.forward, ...): one trip
            target, path = target._owner, [target._name]
        if isinstance(target, Submission):
            session.ready()
            object.__setattr__(target, "_generation", session.generation)
        session.check_generation(target)
        value = session.request(
            {
                "op": "grad",
                "target": target._hid,
                "path": path,
                "device": self._device,
                "args": args,
                "kwargs": kwargs,
                "wrt": list(wrt),
                "grad_outputs": grad_outputs,
            }
        )
        return GradResult(value["output"], value["input_grads"], value["param_grads"])
