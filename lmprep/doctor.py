"""`lmprep doctor`: what this machine gives lmprep, and what the grader can isolate here.

Every statement comes from a check run now, not from an assumption: every dependency is
looked up, a real grading runs (a torch challenge's reference, so the judge's imports and
a worker importing torch under its limits are both proven), and the sandbox is tried on a
child process confined exactly as a worker is (``grader.sandbox.self_test``), which walks
every folder it can see for challenge content or a progress database.
"""

from __future__ import annotations

import os
import platform
import re
from dataclasses import asdict, dataclass
from importlib import metadata

from grader import grade, sandbox
from grader.judge import nvidia_present
from lmprep import __version__, bank
from lmprep.errors import LmprepError
from lmprep.grading import hidden_paths
from lmprep.store import ProgressStore

PROOF_CHALLENGE = "stable-softmax"  # torch in the worker, Hypothesis in the specs: what grading needs
# a failing check among these means grading itself is broken: `lmprep doctor` exits 1
BROKEN = {"dependencies", "grading", "database", "sandbox", "torch"}


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


def _missing_dependencies() -> list[str]:
    """lmprep's own requirements that are not installed (extras and other Pythons aside)."""
    try:
        wanted = metadata.requires("lmprep") or []
    except metadata.PackageNotFoundError:
        return []  # run from a checkout that was never installed: nothing to compare with
    missing = []
    for line in wanted:
        requirement, _, marker = line.partition(";")
        if "extra ==" in marker or (
            "python_version < '3.11'" in marker and platform.python_version_tuple() >= ("3", "11")
        ):
            continue
        name = re.split(r"[<>=!~\[ ]", requirement.strip(), maxsplit=1)[0]
        if _version(name) is None:
            missing.append(name)
    return missing


def _grading_check(db_path) -> Check:
    """Grade a torch challenge's reference cold: the judge's imports, a worker importing
    torch under its limits, and the specs, all proven at once."""
    path = bank.content_root() / "challenges" / PROOF_CHALLENGE
    if not (path / "challenge.toml").is_file():
        return Check("grading", True, f"not tried: {PROOF_CHALLENGE} is not in this install")
    report = grade(path, path / "reference.py", device="cpu", protected=hidden_paths(db_path), warm=False)
    if not report.accepted:
        return Check("grading", False, f"{PROOF_CHALLENGE}'s reference: {report.verdict}: {report.message}")
    memory = report.limits.get("memory", {})
    detail = (
        f"{PROOF_CHALLENGE}'s reference Accepted in {report.timings.get('wall_s', 0):.1f} s; "
        f"the worker imported torch {report.versions.get('torch', '?')}"
    )
    if memory.get("mechanism", "none") != "none":
        detail += f" ({memory['baseline_mb']} MB mapped) with {memory['budget_mb']} MB on top ({memory['mechanism']})"
    return Check("grading", True, detail)


def diagnose(db_path) -> Diagnosis:
    checks = [Check("lmprep", True, f"lmprep {__version__}, Python {platform.python_version()} on {platform.system()}")]
    missing = _missing_dependencies()
    checks.append(
        Check(
            "dependencies",
            not missing,
            f"not installed: {', '.join(missing)} (reinstall lmprep: pip install lmprep)"
            if missing
            else "every dependency is installed",
        )
    )
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

    checks.append(_grading_check(db_path))
    hidden = hidden_paths(db_path)
    tried = sandbox.self_test(protected=[str(p) for p in hidden], known=[str(db_path)])
    if "error" in tried:
        checks.append(Check("sandbox", False, f"the sandbox test failed to run: {tried['error']}"))
        return Diagnosis("unknown", checks)
    landlock, namespaces = tried["landlock"], tried["namespaces"]
    level, _ = sandbox.describe(namespaces, landlock)
    ll = f"Landlock ABI {landlock.get('abi')}" if landlock.get("applied") else landlock.get("why", "no Landlock")
    exposed = tried.get("exposed", [])
    checks += [
        Check("files", tried["read_hidden"] and tried["write_outside"], _files(tried, ll)),
        Check(
            "content",
            not exposed,
            f"readable by a submission: {', '.join(exposed[:3])}"
            if exposed
            else f"no challenge content or progress database readable in {tried.get('walked', 0)} folders walked",
        ),
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
