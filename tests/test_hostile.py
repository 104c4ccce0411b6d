"""The golden adversarial suite: every file in tests/hostile/ is a hostile submission to
the toy-sum challenge whose first lines state what must become of it:

    # expect: <the verdict>
    # message: <a phrase of the verdict's message>   (optional)
    # needs: landlock | landlock-signals | network | nonroot   (optional: skipped without)

Each is submitted through the learner's own `submit`, so its attempt lands in a progress
database, and every case also asserts: the verdict and message, no process left behind,
the database intact (`PRAGMA integrity_check`), the judge's work directory removed, and
nothing it aimed at touched (a watched file, a loopback listener, a pickle payload).
"""

import os
import re
import socket
import sqlite3
import tempfile
import time
from pathlib import Path

import pytest

from grader import sandbox
from lmprep.learner import Learner
from tests.conftest import HOSTILE, processes_mentioning

LIMIT_S = 2.0  # toy-sum's time limit
PROBE = sandbox.probe()
ON = os.environ.get("LMPREP_SANDBOX", "on") != "off"  # off: what holds without the sandbox
NEEDS = {
    "landlock": (ON and PROBE["landlock"], "no Landlock (kernel without it, or LMPREP_SANDBOX=off)"),
    "landlock-signals": (ON and PROBE["landlock_signals"], "no Landlock ABI 6+ to scope signals"),
    "network": (ON and (PROBE["landlock_tcp"] or PROBE["namespaces"]), "neither Landlock ABI 4 nor namespaces"),
    "nonroot": (not PROBE["root"], "running as root: the kernel does not enforce RLIMIT_NPROC"),
}


def expectations(path: Path) -> dict[str, str]:
    header = re.findall(r"^# (expect|message|needs): (.+)$", path.read_text(), re.M)
    return dict(header)


CASES = sorted(HOSTILE.glob("*.py"))


def test_every_hostile_file_states_its_verdict():
    assert len(CASES) >= 20
    for path in CASES:
        assert "expect" in expectations(path), f"{path.name} has no '# expect:' line"
        assert expectations(path).get("needs", "landlock") in NEEDS


@pytest.fixture
def judge_tmp(tmp_path, monkeypatch):
    """A temporary folder of the test's own for the judge's work directories."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def listener():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    yield server
    server.close()


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_hostile_submission(path, tmp_path, toy_bank, judge_tmp, listener, no_stray_processes):
    expected = expectations(path)
    ok, why = NEEDS.get(expected.get("needs", ""), (True, ""))
    if not ok:
        pytest.skip(why)
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    database = tmp_path / "db" / "lmprep.db"
    source = (
        path.read_text()
        .replace("{{PORT}}", str(listener.getsockname()[1]))
        .replace("{{VICTIM}}", str(victim))
        .replace("{{DATABASE}}", str(database))
        .replace("{{HOME_SECRET}}", str(victim))
    )
    submission = tmp_path / "sub" / path.name
    submission.parent.mkdir()
    submission.write_text(source)

    learner = Learner(database)
    started = time.perf_counter()
    report, attempt = learner.submit(submission, "toy-sum", device="cpu")
    elapsed = time.perf_counter() - started

    assert report.verdict == expected["expect"], report.to_json()
    assert expected.get("message", "") in report.message
    assert elapsed < 2 * LIMIT_S + 8  # two tests may reach the limit before the rest fail at once
    time.sleep(0.1)
    assert processes_mentioning(str(submission)) == []
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        (verdict,) = conn.execute("SELECT verdict FROM attempts WHERE id = ?", (attempt,)).fetchone()
    assert verdict == report.verdict
    assert [p.name for p in judge_tmp.iterdir() if p.name.startswith("lmprep-judge-")] == []
    assert victim.read_text() == "untouched" and not victim.with_suffix(".txt.pwned").exists()
    with pytest.raises(BlockingIOError):
        listener.accept()  # nobody connected
