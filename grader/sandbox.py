"""File-system, network and signal isolation for the worker, where the kernel allows it
without root.

Two mechanisms, each probed at run time and reported, never assumed:

- **Namespaces**: the worker moves into a new user namespace and a new network namespace
  (``unshare(CLONE_NEWUSER | CLONE_NEWNET)``). Its network then has nothing but a loopback
  that is down, and it holds no capability over the machine's namespaces (so it cannot
  read another process's memory or environment through ``/proc`` even when running as
  root). Must happen while the worker has a single thread.
- **Landlock** (Linux 5.13+): an allow-list of what the worker may open. It may read the
  system and Python's libraries, the submission file itself and its private work
  directory (where it may also write); nothing else, so the challenge's hidden specs,
  reference and mutants, the progress database and the user's home are out of reach.
  With Landlock ABI 4+ every TCP bind and connect is refused; with ABI 6+ it cannot send
  signals to, or connect to abstract Unix sockets of, processes outside its sandbox (the
  judge).

Every piece degrades to "not applied, and why"; ``describe`` turns what was applied into
the Report's statement of what is and is not isolated.
"""

from __future__ import annotations

import ctypes
import os
import platform
import site
import sys
from collections.abc import Iterable
from pathlib import Path

# syscall numbers of the generic table (x86_64 and aarch64 alike)
SYS_LANDLOCK_CREATE_RULESET = 444
SYS_LANDLOCK_ADD_RULE = 445
SYS_LANDLOCK_RESTRICT_SELF = 446
LANDLOCK_CREATE_RULESET_VERSION = 1 << 0
LANDLOCK_RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000

# file-system access rights, by the ABI that introduced them
FS_EXECUTE, FS_WRITE_FILE, FS_READ_FILE, FS_READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
FS_REMOVE_DIR, FS_REMOVE_FILE, FS_MAKE_CHAR, FS_MAKE_DIR = 1 << 4, 1 << 5, 1 << 6, 1 << 7
FS_MAKE_REG, FS_MAKE_SOCK, FS_MAKE_FIFO, FS_MAKE_BLOCK, FS_MAKE_SYM = 1 << 8, 1 << 9, 1 << 10, 1 << 11, 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1  # ABI 4
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1  # ABI 6

FS_V1 = (1 << 13) - 1
READ = FS_EXECUTE | FS_READ_FILE | FS_READ_DIR
FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE
SYSTEM_DIRS = ("/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/etc", "/opt", "/proc", "/sys")


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def _syscall(libc, number: int, *args) -> int:
    result = libc.syscall(ctypes.c_long(number), *args)
    return result if result >= 0 else -ctypes.get_errno()


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 when it has none (or it is disabled)."""
    libc = _libc()
    if libc is None or platform.system() != "Linux" or platform.machine() not in ("x86_64", "aarch64"):
        return 0
    version = _syscall(libc, SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), LANDLOCK_CREATE_RULESET_VERSION)
    return max(version, 0)


# ---------------------------------------------------------------- namespaces


def enter_namespaces() -> dict:
    """New user + network namespaces for this (single-threaded) process."""
    libc = _libc()
    if libc is None or not hasattr(libc, "unshare"):
        return {"applied": False, "why": "unshare is not available"}
    uid, gid = os.geteuid(), os.getegid()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0:
        return {"applied": False, "why": f"unprivileged namespaces refused ({os.strerror(ctypes.get_errno())})"}
    try:  # keep our own ids inside, so files keep their owners
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    except OSError as exc:
        return {"applied": True, "why": f"ids unmapped ({exc.strerror})"}
    return {"applied": True, "why": "user and network namespaces"}


# ---------------------------------------------------------------- Landlock


def _protected_inside(tree: Path, protected: list[Path]) -> bool:
    return any(p == tree or tree in p.parents for p in protected)


def _under(path: Path, protected: list[Path]) -> bool:
    return any(path == p or p in path.parents for p in protected)


def readable_trees(roots: Iterable[str], protected: list[Path]) -> list[Path]:
    """Folders to allow reading: each root, or, where a protected folder lies inside a
    root, the root's other children (recursively), so the protected one stays out.

    Every path is compared once its links are resolved, as Landlock resolves them: a
    venv's ``lib64 -> lib`` must not let in the ``lib`` that was split around a
    protected folder."""
    found: list[Path] = []
    seen: set[Path] = set()

    def add(tree: Path) -> None:
        tree = tree.resolve()
        if tree in seen or _under(tree, protected) or not tree.exists():
            return
        seen.add(tree)
        if not tree.is_dir() or not _protected_inside(tree, protected):
            found.append(tree)
            return
        try:
            children = sorted(tree.iterdir())
        except OSError:
            return
        for child in children:
            add(child)

    for root in roots:
        add(Path(root))
    return found


def python_roots() -> list[str]:
    """Where this interpreter's code lives: Python's prefixes and its site-packages whole;
    of any other folder on sys.path (a checkout that an editable install or the grader's
    bootstrap put there) only the packages and modules, never its data, tests or ``.git``."""
    whole = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix}
    whole.update(site.getsitepackages() if hasattr(site, "getsitepackages") else ())
    if site.ENABLE_USER_SITE:
        whole.add(site.getusersitepackages())
    whole_paths = [Path(p).resolve() for p in whole]
    roots = {str(p) for p in whole_paths if p.is_dir()}
    for entry in sys.path:
        if not entry or not os.path.isdir(entry):
            continue
        path = Path(entry).resolve()
        if any(path == p or p in path.parents for p in whole_paths):
            roots.add(str(path))
        else:
            roots.update(str(child) for child in _importables(path))
    return sorted(roots)


def _importables(folder: Path) -> list[Path]:
    """The regular packages and the modules directly in ``folder``."""
    try:
        children = list(folder.iterdir())
    except OSError:
        return []
    return [
        child
        for child in children
        if (child.is_dir() and (child / "__init__.py").is_file())
        or (child.is_file() and child.suffix in (".py", ".so", ".pyd"))
    ]


def restrict(*, read: list[Path], read_files: list[Path], write: list[Path]) -> dict:
    """Apply Landlock: read ``read`` trees and ``read_files``, read and write ``write``
    trees, open nothing else; no TCP (ABI 4+); no signals out (ABI 6+)."""
    abi = landlock_abi()
    if abi < 1:
        return {"applied": False, "abi": 0, "why": "the kernel has no Landlock (Linux 5.13+, enabled as an LSM)"}
    libc = _libc()
    fs = FS_V1 | (FS_REFER if abi >= 2 else 0) | (FS_TRUNCATE if abi >= 3 else 0)
    attr = _RulesetAttr(fs, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0, 0)
    if abi >= 6:
        attr.scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = _syscall(libc, SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
    if ruleset < 0:
        return {"applied": False, "abi": abi, "why": f"creating the ruleset failed ({os.strerror(-ruleset)})"}
    dev = READ | FS_WRITE_FILE | (FS_TRUNCATE if abi >= 3 else 0)
    full = fs
    rules = [(p, READ) for p in read] + [(Path("/dev"), dev)] + [(p, full) for p in write]
    rules += [(p, (FS_READ_FILE | FS_EXECUTE)) for p in read_files]
    try:
        for path, access in rules:
            _add_rule(libc, ruleset, path, access & fs)
        libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        result = _syscall(libc, SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0)
    finally:
        os.close(ruleset)
    if result < 0:
        return {"applied": False, "abi": abi, "why": f"restricting failed ({os.strerror(-result)})"}
    return {"applied": True, "abi": abi, "tcp": abi >= 4, "signals": abi >= 6}


def _add_rule(libc, ruleset: int, path: Path, access: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return  # a folder this machine does not have
    try:
        if not os.path.isdir(path):
            access &= FILE_RIGHTS
        rule = _PathBeneathAttr(access, fd)
        _syscall(libc, SYS_LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH, ctypes.byref(rule), 0)
    finally:
        os.close(fd)


def confine_worker(*, submission: str, home: str, protected: list[str], extra_write: list[str] = ()) -> dict:
    """The worker's Landlock sandbox: the allow-list described in this module's docstring."""
    protect = [Path(p).resolve() for p in protected]
    read = readable_trees([*SYSTEM_DIRS, *python_roots()], protect)
    return restrict(read=read, read_files=[Path(submission).resolve()], write=[Path(home), *map(Path, extra_write)])


# ---------------------------------------------------------------- the Report's statement


def describe(namespaces: dict | None, landlock: dict | None) -> tuple[str, list[str]]:
    """(level, notes) for the Report: what is isolated and what is not."""
    namespaces, landlock = namespaces or {}, landlock or {}
    notes, level = [], []
    if landlock.get("applied"):
        level.append(f"landlock-v{landlock['abi']}")
        notes.append(
            "file system: reads limited to the system, Python's libraries and the submission; "
            "writes limited to a private work directory (Landlock)"
        )
        if landlock.get("tcp"):
            notes.append("TCP: refused (Landlock)")
        if landlock.get("signals"):
            notes.append("signals and abstract sockets: cannot reach processes outside the sandbox (Landlock)")
    else:
        notes.append(f"not isolated: file system ({landlock.get('why', 'Landlock not tried')})")
    if namespaces.get("applied"):
        level.append("netns+userns")
        notes.append("network: a private network namespace with no interfaces up; no capabilities on the host")
    else:
        notes.append(f"not isolated: network by namespace ({namespaces.get('why', 'not tried')})")
    if not landlock.get("tcp") and not namespaces.get("applied"):
        notes.append("not isolated: network (the submission can open connections)")
    return "+".join(level) or "none", notes


# ---------------------------------------------------------------- probing


def namespaces_available() -> tuple[bool, str]:
    """Whether a fresh process may enter user + network namespaces (tried in a child)."""
    libc = _libc()
    if libc is None or not hasattr(libc, "unshare") or not hasattr(os, "fork"):
        return False, "unshare is not available"
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child tries, reports errno, and leaves without cleanup
        os.close(read)
        ok = libc.unshare(CLONE_NEWUSER | CLONE_NEWNET) == 0
        os.write(write, b"0" if ok else str(ctypes.get_errno()).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as fh:
        answer = fh.read().decode() or "-1"
    os.waitpid(pid, 0)
    if answer == "0":
        return True, "unprivileged user and network namespaces are allowed"
    errno = int(answer)
    return False, f"unprivileged namespaces refused ({os.strerror(errno) if errno > 0 else 'no answer'})"


def probe() -> dict:
    """What this machine allows, for `lmprep doctor` and the tests."""
    abi = landlock_abi()
    ns_ok, ns_why = namespaces_available()
    return {
        "landlock_abi": abi,
        "landlock": abi >= 1,
        "landlock_tcp": abi >= 4,
        "landlock_signals": abi >= 6,
        "namespaces": ns_ok,
        "namespaces_why": ns_why,
        "root": os.geteuid() == 0,
    }


SKIP_TREES = ("/proc", "/sys", "/dev")


def exposed_content(tops: Iterable[str], known: Iterable[str] = (), limit: int = 10) -> tuple[list[str], int]:
    """Walk every folder this process can list, from ``tops`` down (not /proc, /sys, /dev,
    no symbolic links), as a hostile submission would, and return what hidden content it
    can open: a challenge's ``reference.py`` and the files of its ``spec/`` and ``mutants/``
    (beside a ``challenge.toml``), a checkout's ``.git`` beside a ``challenges/`` folder,
    any progress database (``lmprep.db``), and those of ``known`` that open. Returns the
    paths found (at most ``limit``) and how many folders were walked."""

    def opens(path: str) -> bool:
        try:
            with open(path, "rb") as fh:
                fh.read(1)
            return True
        except OSError:
            return False

    def listing(folder: str) -> list[os.DirEntry]:
        try:
            with os.scandir(folder) as it:
                return list(it)
        except OSError:
            return []

    found: list[str] = [k for k in known if opens(k)]
    seen: set[str] = set()
    stack = [t for t in tops if not any(t == s or t.startswith(s + "/") for s in SKIP_TREES)]
    walked = 0
    while stack and len(found) < limit:
        folder = stack.pop()
        if folder in seen:
            continue
        seen.add(folder)
        entries = listing(folder)
        walked += bool(entries)
        names = {e.name for e in entries}
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if is_dir and entry.path not in SKIP_TREES:
                stack.append(entry.path)
            elif entry.name == "lmprep.db" and opens(entry.path):
                found.append(entry.path)
        if "challenge.toml" in names:
            hidden = [os.path.join(folder, "reference.py")]
            for part in ("spec", "mutants"):
                hidden += [e.path for e in listing(os.path.join(folder, part)) if e.is_file(follow_symlinks=False)]
            found += [h for h in hidden if opens(h)]
        if "challenges" in names and ".git" in names and listing(os.path.join(folder, ".git", "objects")):
            found.append(os.path.join(folder, ".git"))
    return found[:limit], walked


_SELF_TEST = """
import json, os, socket, sys
from grader import sandbox
config = json.loads(sys.argv[1])
result = {"namespaces": sandbox.enter_namespaces()}
result["landlock"] = sandbox.confine_worker(
    submission=config["submission"], home=config["home"], protected=[config["secret_dir"], *config["protected"]]
)

def refused(action):
    try:
        action()
    except OSError:
        return True
    return False

result["read_hidden"] = refused(lambda: open(config["secret"]).read())
result["read_submission"] = not refused(lambda: open(config["submission"]).read())
result["write_outside"] = refused(lambda: open(config["outside"], "w").write("x"))
result["write_home"] = not refused(lambda: open(os.path.join(config["home"], "x"), "w").write("x"))
result["tcp"] = refused(lambda: socket.create_connection(("127.0.0.1", config["port"]), timeout=2).close())
result["signal"] = refused(lambda: os.kill(os.getppid(), 0))
result["exposed"], result["walked"] = sandbox.exposed_content(config["tops"], config["known"])
print(json.dumps(result))
"""


def self_test(protected: Iterable[str] = (), known: Iterable[str] = ()) -> dict:
    """Confine a child exactly as a worker is confined (``protected`` as the grader's caller
    names it) and try what a hostile submission would: read a hidden file, write outside
    its folder, connect over TCP, signal its parent, and walk every folder it can see for
    challenge content or a progress database (``known``: files to try by name as well).
    Returns what was refused and what was found."""
    import json
    import socket
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory(prefix="lmprep-doctor-") as tmp:
        root = Path(tmp)
        for name in ("secret", "home"):
            (root / name).mkdir()
        (root / "secret" / "spec.py").write_text("hidden")
        (root / "submission.py").write_text("")
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen()
        try:
            top = sorted(os.path.join("/", name) for name in os.listdir("/"))
        except OSError:
            top = []
        config = {
            "secret_dir": str(root / "secret"),
            "secret": str(root / "secret" / "spec.py"),
            "submission": str(root / "submission.py"),
            "home": str(root / "home"),
            "outside": str(root / "outside.txt"),
            "port": server.getsockname()[1],
            "protected": [str(p) for p in protected],
            "known": [str(k) for k in known],
            # what an attacker would try: every top-level folder, Python's own, the user's
            "tops": list(dict.fromkeys([*top, *python_roots(), os.path.expanduser("~"), os.getcwd()])),
        }
        env = {"PYTHONPATH": str(Path(__file__).resolve().parent.parent), "PATH": os.environ.get("PATH", "")}
        try:
            done = subprocess.run(
                [
                    sys.executable,
                    "-I",
                    "-c",
                    f"import sys; sys.path.insert(0, {env['PYTHONPATH']!r})\n" + _SELF_TEST,
                    json.dumps(config),
                ],
                capture_output=True,
                text=True,
                timeout=120,
                env=env,
            )
        finally:
            server.close()
        try:
            return json.loads(done.stdout.strip().splitlines()[-1])
        except (IndexError, ValueError):
            return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
