"""The golden adversarial suite: every file in tests/hostile/ is a hostile submission to
a toy challenge (toy-sum unless it says otherwise) whose first lines state what must become of it:

    # expect: <the verdict>
    # message: <a phrase of the verdict's message>   (optional)
    # needs: landlock | landlock-signals | network | nonroot   (optional: skipped without)
    # challenge: <slug>   (optional: toy-sum; slower ones, like toy-walk, are in SLOW_CHALLENGES)

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

from grader import sandbox, warm
from grader.challenge import load as load_challenge
from lmprep.learner import Learner
from tests.conftest import HOSTILE, SLOW_CHALLENGES, TOY_CHALLENGES, processes_mentioning, server_descendants

PROBE = sandbox.probe()
ON = os.environ.get("LMPREP_SANDBOX", "on") != "off"  # off: what holds without the sandbox
NEEDS = {
    "landlock": (ON and PROBE["landlock"], "no Landlock (kernel without it, or LMPREP_SANDBOX=off)"),
    "landlock-signals": (ON and PROBE["landlock_signals"], "no Landlock ABI 6+ to scope signals"),
    "network": (ON and (PROBE["landlock_tcp"] or PROBE["namespaces"]), "neither Landlock ABI 4 nor namespaces"),
    "nonroot": (not PROBE["root"], "running as root: the kernel does not enforce RLIMIT_NPROC"),
}


def expectations(path: Path) -> dict[str, str]:
    header = re.findall(r"^# (expect|message|needs|challenge): (.+)$", path.read_text(), re.M)
    return dict(header)


def challenge_folder(slug: str) -> Path:
    """The toy challenge a hostile file answers, from the toy bank or the slow one."""
    for bank in (TOY_CHALLENGES, SLOW_CHALLENGES):
        if (bank / slug / "challenge.toml").is_file():
            return bank / slug
    raise LookupError(f"no toy challenge {slug!r}")


CASES = sorted(HOSTILE.glob("*.py"))


def test_every_hostile_file_states_its_verdict():
    assert len(CASES) >= 20
    for path in CASES:
        assert "expect" in expectations(path), f"{path.name} has no '# expect:' line"
        assert expectations(path).get("needs", "landlock") in NEEDS
        assert challenge_folder(expectations(path).get("challenge", "toy-sum")).is_dir()


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


@pytest.mark.parametrize("mode", ["cold", "warm"])
@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_hostile_submission(
    path, mode, tmp_path, toy_bank, judge_tmp, listener, no_stray_processes, monkeypatch, grading_servers
):
    """Cold (a judge and worker started for the grading) and warm (forked by the grading
    server) alike: the same verdict, and nothing left behind."""
    expected = expectations(path)
    ok, why = NEEDS.get(expected.get("needs", ""), (True, ""))
    if not ok:
        pytest.skip(why)
    monkeypatch.setenv("LMPREP_WARM", "1" if mode == "warm" else "0")
    if mode == "warm":
        warm.ensure_server()  # its start-up is not the submission's time
    challenge = challenge_folder(expected.get("challenge", "toy-sum"))
    monkeypatch.setenv("LMPREP_CHALLENGES", str(challenge.parent))
    limit_s = load_challenge(challenge).time_limit_s
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    database = tmp_path / "db" / "lmprep.db"
    source = (
        path.read_text()
        .replace("{{PORT}}", str(listener.getsockname()[1]))
        .replace("{{VICTIM}}", str(victim))
        .replace("{{DATABASE}}", str(database))
        .replace("{{HOME_SECRET}}", str(victim))
        .replace("{{CHALLENGE}}", str(challenge))
    )
    submission = tmp_path / "sub" / path.name
    submission.parent.mkdir()
    submission.write_text(source)

    learner = Learner(database)
    started = time.perf_counter()
    report, attempt = learner.submit(submission, challenge.name, device="cpu")
    elapsed = time.perf_counter() - started

    assert report.verdict == expected["expect"], report.to_json()
    assert expected.get("message", "") in report.message
    assert report.timings.get("warm") == (1.0 if mode == "warm" else None)
    assert elapsed < 2 * limit_s + 8  # two tests may reach the limit before the rest fail at once
    time.sleep(0.1)
    assert processes_mentioning(str(submission)) == []
    deadline = time.monotonic() + 2
    while server_descendants(grading_servers) and time.monotonic() < deadline:
        time.sleep(0.05)  # the forked judge sends its Report, sweeps and exits
    assert server_descendants(grading_servers) == []
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        (verdict,) = conn.execute("SELECT verdict FROM attempts WHERE id = ?", (attempt,)).fetchone()
    assert verdict == report.verdict
    assert [p.name for p in judge_tmp.iterdir() if p.name.startswith("lmprep-judge-")] == []
    assert victim.read_text() == "untouched" and not victim.with_suffix(".txt.pwned").exists()
    with pytest.raises(BlockingIOError):
        listener.accept()  # nobody connected
