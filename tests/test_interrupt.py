"""A grading that is interrupted leaves nothing running.

The CLI is killed (SIGKILL: a closed terminal, an OOM kill), terminated (SIGTERM: what
`timeout` sends) or interrupted (SIGINT: Ctrl-C) while it grades a busy-looping or a
crash-looping answer, cold (judge and worker started for it) and warm (forked by the
grading server, which the client's hang-up tells to stop). Two seconds later no process
names the submission (cold judge or worker), nothing runs below the grading server
(warm judge, its worker zygote, its worker), the judge's work directory is gone, the
database is intact and the attempt reads as interrupted, never as a verdict. `validate`
and `watch` stop the same way.
"""

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lmprep.store import ProgressStore
from tests.conftest import ROOT, processes_mentioning, server_descendants

SLUG = "temperature-softmax"  # numpy, scipy, matplotlib and torch in every worker: slow to restart
ANSWERS = {
    "busy_loop": "def softmax_with_temperature(logits, temperature=1.0):\n    while True:\n        pass\n",
    # each call ends its worker after 2 s: without the wait, a warm grading's two crashes
    # (then fail-fast) end it, Crashed, before the signal comes
    "crash_loop": (
        "import ctypes\nimport time\n\n\ndef softmax_with_temperature(logits, temperature=1.0):\n"
        "    time.sleep(2)\n    ctypes.string_at(0)\n"
    ),
}
PLOT = "\n\ndef plot_temperature_effect(logits, temperatures):\n    return softmax_with_temperature(logits)\n"


def start_cli(args: list[str], tmp_path: Path, mode: str = "cold") -> subprocess.Popen:
    env = {
        **os.environ,
        "LMPREP_WARM": "1" if mode == "warm" else "0",
        "LMPREP_HOME": str(tmp_path / "home"),
        "LMPREP_WORKSPACE": str(tmp_path / "workspace"),
        "TMPDIR": str(tmp_path / "tmp"),
    }
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "lmprep", *args],
        env=env,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for_worker(text: str, proc: subprocess.Popen, mode: str = "cold", timeout: float = 60.0) -> None:
    """Until a worker runs: cold, a process naming ``text`` whose command line is the
    worker's; warm, a judge, its worker zygote and a worker below the grading server."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if mode == "warm" and len(server_descendants(RUNTIME())) >= 3:
            return
        for pid in processes_mentioning(text) if mode == "cold" else ():
            try:
                if b"grader.worker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    return
            except OSError:
                pass
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    pytest.fail(f"no worker for {text} started within {timeout} s")


def RUNTIME() -> Path:
    return Path(os.environ["LMPREP_RUNTIME_DIR"])


def assert_nothing_left(text: str, tmp_path: Path) -> None:
    time.sleep(2.0)
    assert processes_mentioning(text) == []
    assert server_descendants(RUNTIME()) == []
    assert [p.name for p in (tmp_path / "tmp").iterdir() if p.name.startswith("lmprep-judge-")] == []


EXIT = {signal.SIGKILL: -signal.SIGKILL, signal.SIGTERM: 128 + signal.SIGTERM, signal.SIGINT: 128 + signal.SIGINT}


@pytest.mark.parametrize("mode", ["cold", "warm"])
@pytest.mark.parametrize("answer", sorted(ANSWERS))
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_an_interrupted_submit_leaves_nothing_running(answer, sig, mode, tmp_path):
    submission = tmp_path / f"{answer}.py"
    submission.write_text(f"# lmprep: {SLUG}\n" + ANSWERS[answer] + PLOT)
    proc = start_cli(["submit", str(submission), "-c", SLUG, "--device", "cpu"], tmp_path, mode)
    wait_for_worker(str(submission), proc, mode)
    time.sleep(0.5)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == EXIT[sig], err.decode()
    assert_nothing_left(str(submission), tmp_path)
    database = tmp_path / "home" / "lmprep.db"
    with sqlite3.connect(database) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    store = ProgressStore(database)
    (attempt,) = store.attempts()
    assert (attempt["status"], attempt["verdict"]) == ("interrupted", None)
    store.close()
    if sig != signal.SIGKILL:
        assert f"lmprep: stopped by {sig.name}" in err.decode()


@pytest.mark.parametrize("mode", ["cold", "warm"])
def test_an_interrupted_validate_leaves_nothing_running(mode, tmp_path):
    challenge = tmp_path / "bank" / SLUG
    shutil.copytree(ROOT / "challenges" / SLUG, challenge)
    proc = start_cli(["validate", str(challenge), "-j", "2"], tmp_path, mode)
    wait_for_worker(str(challenge), proc, mode)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert_nothing_left(str(challenge), tmp_path)


@pytest.mark.parametrize("mode", ["cold", "warm"])
def test_ctrl_c_stops_watch_and_its_grading(mode, tmp_path):
    submission = tmp_path / "busy.py"
    submission.write_text(f"# lmprep: {SLUG}\n" + ANSWERS["busy_loop"] + PLOT)
    proc = start_cli(["watch", str(submission), "--device", "cpu"], tmp_path, mode)
    wait_for_worker(str(submission), proc, mode)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=30)
    assert proc.returncode == 0  # Ctrl-C is how watch stops
    assert_nothing_left(str(submission), tmp_path)
