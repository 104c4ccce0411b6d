"""`lmprep doctor`: what this machine gives lmprep, and what the grader can isolate here.

Every statement comes from a check run now, not from an assumption: the sandbox is tried
on a child process confined exactly as a worker is (``grader.sandbox.self_test``).
"""

from __future__ import annotations

import os
import platform
from dataclasses import asdict, dataclass
from importlib import metadata

from grader import sandbox
from grader.judge import nvidia_present
from lmprep import __version__
from lmprep.errors import LmprepError
from lmprep.store import ProgressStore


@dataclass
class Check:
    area: str
    ok: bool
    detail: str


@dataclass
class Diagnosis:
    level: str
    checks: list[Check]

    def to_dict(self) -> dict:
        return {"level": self.level, "checks": [asdict(c) for c in self.checks]}


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def diagnose(db_path) -> Diagnosis:
    checks = [Check("lmprep", True, f"lmprep {__version__}, Python {platform.python_version()} on {platform.system()}")]
    torch = _version("torch")
    checks.append(Check("torch", torch is not None, f"torch {torch}" if torch else "torch is not installed"))
    gpu = nvidia_present()
    checks.append(
        Check("gpu", True, "an NVIDIA GPU: CUDA specs run" if gpu else "no NVIDIA GPU: CUDA specs are skipped")
    )
    try:
        store = ProgressStore(db_path)
        (integrity,) = store.db.execute("PRAGMA integrity_check").fetchone()
        checks.append(Check("database", integrity == "ok", f"{db_path}: {integrity}, journal {store.journal_mode}"))
    except LmprepError as exc:
        checks.append(Check("database", False, str(exc)))

    tried = sandbox.self_test()
    if "error" in tried:
        checks.append(Check("sandbox", False, f"the sandbox test failed to run: {tried['error']}"))
        return Diagnosis("unknown", checks)
    landlock, namespaces = tried["landlock"], tried["namespaces"]
    level, _ = sandbox.describe(namespaces, landlock)
    ll = f"Landlock ABI {landlock.get('abi')}" if landlock.get("applied") else landlock.get("why", "no Landlock")
    checks += [
        Check("files", tried["read_hidden"] and tried["write_outside"], _files(tried, ll)),
        Check("network", tried["tcp"], "TCP to 127.0.0.1 refused" if tried["tcp"] else "TCP is open to submissions"),
        Check(
            "signals",
            tried["signal"],
            "signalling the judge refused" if tried["signal"] else "a submission can signal the judge's processes",
        ),
        Check("namespaces", namespaces["applied"], namespaces["why"]),
        Check(
            "processes",
            os.geteuid() != 0,
            "running as root: the kernel does not enforce the process-count limit (the judge still sweeps)"
            if os.geteuid() == 0
            else "process-count limit enforced",
        ),
    ]
    if not (tried["read_submission"] and tried["write_home"]):
        checks.append(Check("sandbox", False, "the sandbox blocks what a worker needs: report this as a bug"))
    return Diagnosis(f"process+rlimits+{level}" if level != "none" else "process+rlimits", checks)


def _files(tried: dict, how: str) -> str:
    if tried["read_hidden"] and tried["write_outside"]:
        return f"hidden files unreadable, writes confined to the work directory ({how})"
    return f"not isolated: a submission can read and write your files ({how})"
