"""Process limits and process-tree control, shared by the worker (on itself) and the judge.

Linux-only pieces (prctl, /proc) degrade to no-ops elsewhere; `isolation_summary` says
which of them are in force so that every Report can state its isolation level.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import time
from dataclasses import asdict, dataclass

from grader.sandbox import describe as describe_sandbox

PR_SET_PDEATHSIG = 1
PR_SET_DUMPABLE = 4
PR_SET_CHILD_SUBREAPER = 36

# exit status the worker's memory watchdog uses; only ever makes a verdict worse
MEMORY_WATCHDOG_EXIT = 86


@dataclass(frozen=True)
class Limits:
    time_limit_s: float = 5.0  # wall clock per test, enforced by the judge
    memory_limit_mb: int = 2048  # the learner's budget above what the loaded libraries map (`limit_memory`)
    output_limit_kb: int = 1024  # everything the worker prints, all tests together
    cpu_limit_s: int = 600  # CPU seconds over a worker's whole life (backstop for the wall clock)
    open_files: int = 256
    processes: int = 64  # beyond the user's current count; not enforced for root
    # torch/OpenMP threads in the worker. One: a grading's tensors are small, and on a busy
    # machine a team of two waits for its descheduled thread at every op (torch.softmax of
    # a [3, 4, 5] tensor: 2.8-8.9 ms with two threads, 0.002 ms with one, 2 cores under load)
    threads: int = 1

    def to_dict(self) -> dict:
        return asdict(self)


def open_nofollow(path: str, mode: str = "r", encoding: str | None = None):
    """``open`` for the judge's own files, refusing a symbolic link planted in their place
    (``"x"``: the file must not exist yet)."""
    flags = {
        "r": os.O_RDONLY,
        "rb": os.O_RDONLY,
        "w": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
        "x": os.O_WRONLY | os.O_CREAT | os.O_EXCL,
        "ab": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
    }[mode]
    fd = os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    binary = "b" in mode
    return os.fdopen(fd, {"x": "w"}.get(mode, mode), encoding=None if binary else encoding or "utf-8")


def _libc():
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def prctl(option: int, value: int) -> bool:
    libc = _libc()
    if libc is None or not hasattr(libc, "prctl"):
        return False
    return libc.prctl(option, value, 0, 0, 0) == 0


def die_with_parent() -> bool:
    """Ask the kernel to SIGKILL this process when its parent dies."""
    return prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def become_subreaper() -> bool:
    """Orphaned descendants are re-parented to this process, so it can sweep them."""
    return prctl(PR_SET_CHILD_SUBREAPER, 1)


def _count_user_processes() -> int:
    uid = os.getuid()
    count = 0
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count


def _setlimit(applied: dict[str, bool], name: str, which: int, soft: int, hard: int | None = None) -> None:
    try:
        resource.setrlimit(which, (soft, soft if hard is None else hard))
        applied[name] = True
    except (ValueError, OSError):
        applied[name] = False


def apply_to_self(limits: Limits) -> dict[str, bool]:
    """Set the worker's own rlimits, all but memory (see `limit_memory`), before its
    libraries load; returns what took."""
    applied: dict[str, bool] = {}
    _setlimit(applied, "cpu", resource.RLIMIT_CPU, limits.cpu_limit_s, limits.cpu_limit_s + 1)
    _setlimit(applied, "file_size", resource.RLIMIT_FSIZE, limits.output_limit_kb << 10)
    _setlimit(applied, "open_files", resource.RLIMIT_NOFILE, limits.open_files)
    _setlimit(applied, "core", resource.RLIMIT_CORE, 0)
    if hasattr(resource, "RLIMIT_NPROC"):
        _setlimit(applied, "processes", resource.RLIMIT_NPROC, _count_user_processes() + limits.processes)
    return applied


def memory_in_use() -> dict[str, int]:
    """This process's address space, data segment and resident memory, in bytes."""
    found = {}
    with open("/proc/self/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmSize", "VmData", "VmRSS"):
                found[key] = int(value.split()[0]) << 10  # kB
    return {"address_space": found["VmSize"], "data": found["VmData"], "resident": found["VmRSS"]}


def limit_memory(limits: Limits, cuda: bool) -> dict:
    """Give the submission ``memory_limit_mb`` on top of what this process has mapped now,
    once its libraries are loaded: an import of the CUDA build of torch maps ~3.2 GB, the
    CPU build ~0.7 GB, and neither is the learner's to pay for.

    Without CUDA an address-space limit (RLIMIT_AS) holds every allocation. With CUDA
    address-space limits break the driver (it reserves huge virtual ranges), so the data
    segment is limited (RLIMIT_DATA) and a watchdog ends the process when its resident
    memory goes over the budget (`MEMORY_WATCHDOG_EXIT`). Returns what holds, for the Report.
    """
    budget = limits.memory_limit_mb << 20
    try:
        used = memory_in_use()
    except (OSError, KeyError, ValueError):
        return {"mechanism": "none", "why": "/proc/self/status is not readable here"}
    kind, key = ("data segment + resident-memory watchdog", "data") if cuda else ("address space", "address_space")
    which = resource.RLIMIT_DATA if cuda else resource.RLIMIT_AS
    applied: dict[str, bool] = {}
    _setlimit(applied, "memory", which, used[key] + budget)
    if not applied["memory"]:
        return {"mechanism": "none", "why": f"the kernel refused the {kind} limit"}
    held = {
        "mechanism": kind,
        "baseline_mb": used[key] >> 20,
        "budget_mb": limits.memory_limit_mb,
        "limit_mb": (used[key] + budget) >> 20,
    }
    if cuda:
        held["resident_limit_mb"] = (used["resident"] + budget) >> 20
    return held


def isolation_summary(
    applied: dict[str, bool], subreaper: bool, sandbox: dict | None = None, memory: dict | None = None
) -> dict:
    """What a Report states about isolation: the level, what holds and what does not."""
    sandbox, memory = sandbox or {}, memory or {}
    level, confined = describe_sandbox(sandbox.get("namespaces"), sandbox.get("landlock"))
    notes = [
        "separate worker process; the verdict is computed in the judge",
        "data-only wire protocol (no pickle)",
        "resource limits: " + ", ".join(sorted(k for k, v in applied.items() if v)),
        describe_memory(memory),
    ]
    if os.getuid() == 0:
        notes.append("running as root: the process-count limit is not enforced by the kernel")
    notes.append(
        "descendants swept by the judge (subreaper)" if subreaper else "descendants swept by process group only"
    )
    notes += confined
    return {"level": f"process+rlimits+{level}" if level != "none" else "process+rlimits", "notes": notes}


def describe_memory(memory: dict) -> str:
    """One line on the memory limit that held (see `limit_memory`)."""
    if memory.get("mechanism", "none") == "none":
        return f"not limited: memory ({memory.get('why', 'not tried')})"
    text = (
        f"memory: {memory['budget_mb']} MB for the submission on top of the {memory['baseline_mb']} MB "
        f"its libraries had mapped ({memory['mechanism']}"
    )
    if "resident_limit_mb" in memory:
        text += f"; resident memory capped at {memory['resident_limit_mb']} MB"
    return text + ")"


# ---------------------------------------------------------------- process trees


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                stat = fh.read()
        except OSError:
            continue
        # the command name may hold spaces and parentheses: parse after the last ')'
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (zombies included), found through /proc."""
    if not os.path.isdir("/proc"):
        return []
    children = _children_map()
    found, stack = [], list(children.get(pid, ()))
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(children.get(child, ()))
    return found


def reap() -> None:
    """Collect exit statuses of dead children so they leave no zombies."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def sweep(root: int, keep: frozenset[int] = frozenset(), rounds: int = 200) -> int:
    """SIGKILL every descendant of ``root`` but ``keep``; returns how many were killed.

    Stops each process first so that a fork loop cannot outrun the sweep.
    """
    killed: set[int] = set()
    for _ in range(rounds):
        targets = [p for p in descendants(root) if p not in keep]
        alive = [p for p in targets if _is_alive(p)]
        if not alive:
            reap()
            if not [p for p in descendants(root) if p not in keep and _is_alive(p)]:
                break
            continue
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in alive:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        killed.update(alive)
        reap()
        time.sleep(0.002)
    reap()
    return len(killed)


def _is_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            stat = fh.read()
    except OSError:
        return False
    state = stat[stat.rfind(b")") + 2 :][:1]
    return state not in (b"Z", b"X")
