import os
import re
from pathlib import Path

import pytest

from grader.limits import descendants

collect_ignore = ["data"]  # the toy challenges' specs run only inside the judge

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"
TOY_CHALLENGES = DATA / "challenges"
# toy challenges with room for a slow submission (toy-walk: the hostile suite's file-system
# walk), kept out of TOY_CHALLENGES, whose size the learner-loop tests count
SLOW_CHALLENGES = DATA / "slow-challenges"
SUBMISSIONS = DATA / "submissions"
HOSTILE = ROOT / "tests" / "hostile"  # the golden adversarial suite (test_hostile.py)


@pytest.fixture(scope="session", autouse=True)
def grading_servers(tmp_path_factory):
    """The warm grading servers this session starts live in a runtime folder of its own,
    and are stopped when it ends: nothing is left running after the tests."""
    from grader import warm

    folder = tmp_path_factory.mktemp("runtime")
    folder.chmod(0o700)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LMPREP_RUNTIME_DIR", str(folder))
        yield folder
        warm.stop_every_server(folder)


def server_descendants(folder: Path) -> list[int]:
    """Processes below the grading servers of ``folder`` (forked judges, templates, workers)."""
    from grader import warm

    found = []
    for path in folder.glob("grader-*.sock"):
        state = warm.status(path)
        if state is not None:
            found += descendants(state["pid"])
    return found


@pytest.fixture(autouse=True)
def isolated_user(tmp_path, monkeypatch):
    """Every test gets its own lmprep home and workspace."""
    monkeypatch.setenv("LMPREP_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("LMPREP_WORKSPACE", str(tmp_path / "workspace"))


@pytest.fixture
def toy_bank(monkeypatch):
    """Point the bank at the grader's small test challenges."""
    monkeypatch.setenv("LMPREP_CHALLENGES", str(TOY_CHALLENGES))
    return TOY_CHALLENGES


def processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line contains ``text`` (a unique submission path)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                cmdline = fh.read().decode(errors="replace")
            with open(f"/proc/{entry}/stat", "rb") as fh:
                state = fh.read().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if text in cmdline and state not in (b"Z", b"X"):
            found.append(int(entry))
    return found


@pytest.fixture
def no_stray_processes():
    """Asserts that no process started by the test outlives it."""
    before = set(descendants(os.getpid()))
    yield
    left = [p for p in descendants(os.getpid()) if p not in before]
    assert not left, f"processes left behind: {left}"


def normalise(text: str) -> str:
    """Output with volatile parts (durations) replaced."""
    return re.sub(r"\d+\.\d+ s", "N s", text)
