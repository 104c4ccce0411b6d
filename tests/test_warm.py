"""Warm grading (`grader.warm`, issue 13): what the grading server must prove.

- Lifecycle: `ensure_server` starts one detached server and reports it; its socket is 0600
  in a 0700 folder of this user; `stop` stops it; an idle server exits by itself (but not
  while it grades) and removes its socket.
- Fallback: where no server can run (a runtime folder that is not private, or no folder at
  all) a grading is still right, cold; a server of another version refuses a grading and
  stops (finishing what it runs), and the client's grading is still right.
- Isolation: a grading that patches torch, writes the globals and `sys.modules` of what
  the zygote preloaded, leaks threads or fills memory reaches neither the server nor a
  later grading (which keeps the cold verdict, score and speed).
- Concurrency: 8 gradings at once give the cold verdicts, and leave nothing running.
- A crash loop is cheap warm: workers are forked, not started.

Lifecycle and fallback tests run their own servers in runtime folders of their own; the
others use the session's server (`grading_servers` in conftest.py).
"""

import os
import shutil
import signal
import socket
import stat
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grader import grade, warm
from tests.conftest import ROOT, TOY_CHALLENGES, server_descendants

SUM = TOY_CHALLENGES / "toy-sum"
TENSOR = TOY_CHALLENGES / "toy-tensor"
NGRAM = ROOT / "challenges" / "ngram-lm"
KNESER = ROOT / "challenges" / "kneser-ney"

SLOW_SUM = (
    (SUM / "reference.py")
    .read_text()
    .replace(
        '    """The sum of ``xs``. Example: total([1, 2]) == 3."""\n',
        '    """The sum of ``xs``, slowly."""\n    import time\n\n    time.sleep(0.4)\n',
    )
)
CRASH_SUM = """import ctypes


def total(xs):
    ctypes.string_at(0)


class Accumulator:
    def __init__(self, start=0.0):
        ctypes.string_at(0)

    def add(self, x):
        ctypes.string_at(0)

    def value(self):
        ctypes.string_at(0)
"""
# a submission that makes its worker die of an uncaught exception (outside any call)
BREAKS_WORKER = """import grader.wire


def _boom(*args, **kwargs):
    raise RuntimeError("boom")


grader.wire.decode = _boom  # the worker's next request fails to decode


""" + (SUM / "reference.py").read_text()
TENSOR_REFERENCE = (TENSOR / "reference.py").read_text()
WRONG_TENSOR = TENSOR_REFERENCE.replace("return x * factor", "return x * (factor * 1.01)")

# Hostile prologues, each followed by a correct toy-tensor answer. (a) and (b) sabotage what
# a later grading would use if anything of theirs survived: torch itself, the grader's
# fixtures (built in the worker), its spec helpers (used by the judge), `sys.modules`.
HOSTILE = {
    "patches_torch": """
import torch

torch.Tensor.__mul__ = lambda a, b: a.new_zeros(a.shape)
torch.Tensor.__rmul__ = lambda a, b: a.new_zeros(a.shape)
torch.Tensor.__add__ = lambda a, b: a.new_zeros(a.shape)
torch.tensor = lambda *args, **kwargs: torch.zeros(())
torch.allclose = lambda *args, **kwargs: True
""",
    "writes_preloaded_globals": """
import sys
import types

import numpy
import torch

import grader.fixtures
import grader.spec
import grader.wire

numpy.pi = 3
torch.float32 = torch.float16
grader.spec.check = lambda *args, **kwargs: None
grader.spec.check_close = lambda *args, **kwargs: None
grader.fixtures.REGISTRY.clear()
grader.fixtures.ToyLM.forward = lambda self, ids: torch.zeros(1)
sys.modules["grader.fixtures"] = types.ModuleType("grader.fixtures")
sys.modules["torch.nn.functional"] = None
sys.modules["numpy.linalg"] = None
""",
    "leaks_threads": """
import threading
import time

_STARTED = [threading.Thread(target=time.sleep, args=(10**6,), name=f"leak-{i}") for i in range(8)]
for _thread in _STARTED:
    _thread.start()
""",
    "fills_memory": """
import torch

_HOG = torch.ones(64 << 20)  # 256 MB, every page written, kept alive by the module
_HOG2 = b"x" * (64 << 20)  # and 64 MB more outside torch
""",
}


# ---------------------------------------------------------------- helpers


def wait_until(predicate, timeout: float = 5.0, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while not (found := predicate()) and time.monotonic() < deadline:
        time.sleep(step)
    return found


def gone(pid: int) -> bool:
    return not warm._pid_alive(pid)


def signature(report) -> tuple:
    """What must not depend on warm or cold: verdict, score and each test's outcome."""
    return report.verdict, report.score, report.max_score, [(t.id, t.outcome) for t in report.tests]


def timed_grade(challenge: Path, submission: Path, warm_: bool):
    started = time.perf_counter()
    report = grade(challenge, submission, device="cpu", warm=warm_)
    return report, time.perf_counter() - started


_COLD: dict = {}


def cold(challenge: Path, submission: Path):
    """The cold (reference behaviour) report of a submission, graded once per module."""
    key = (str(challenge), str(submission))
    if key not in _COLD:
        _COLD[key] = grade(challenge, submission, device="cpu", warm=False)
        assert "warm" not in _COLD[key].timings
    return _COLD[key]


@pytest.fixture(scope="module")
def answers(tmp_path_factory):
    """The submissions this module writes, in a folder that lasts the module."""
    folder = tmp_path_factory.mktemp("answers")
    texts = {"slow_sum": SLOW_SUM, "crash_sum": CRASH_SUM, "breaks_worker": BREAKS_WORKER, "wrong_tensor": WRONG_TENSOR}
    texts.update({name: prologue + "\n\n" + TENSOR_REFERENCE for name, prologue in HOSTILE.items()})
    for name, text in texts.items():
        (folder / f"{name}.py").write_text(text)
    return folder


@pytest.fixture
def private_runtime(monkeypatch):
    """A runtime folder of the test's own (short: a socket path has ~100 characters):
    whatever server the test starts there is stopped, killed if need be, afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="lmprep-rt-"))
    folder.chmod(0o700)
    monkeypatch.setenv("LMPREP_RUNTIME_DIR", str(folder))
    pids: list[int] = []
    try:
        yield pids
    finally:
        for path in folder.glob("grader-*.sock"):
            state = warm.status(path)
            if state is not None:
                pids.append(state["pid"])
        warm.stop_every_server(folder)
        for pid in pids:
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def session_server(grading_servers):
    """The session's server, started, with one warm toy-tensor grading behind it."""
    warm.ensure_server()
    report = grade(TENSOR, TENSOR / "reference.py", device="cpu", warm=True)
    assert report.accepted and report.timings.get("warm") == 1.0, report.to_json()
    return grading_servers


def settle(folder: Path) -> None:
    """Until the session's server runs no grading and has nothing below it."""
    assert wait_until(lambda: (warm.status() or {}).get("running") == 0 and not server_descendants(folder), 10)


# ---------------------------------------------------------------- lifecycle


def test_server_lifecycle(private_runtime):
    assert warm.status() is None
    state = warm.ensure_server()
    pid = state["pid"]
    private_runtime.append(pid)
    assert state["fingerprint"] == warm.fingerprint()
    assert (state["served"], state["running"]) == (0, 0)
    assert {"grader.judge", "pytest", "hypothesis", "numpy", "torch"} <= set(state["preloaded"])
    assert warm.ensure_server()["pid"] == pid  # one server, not one per call
    assert warm.status()["pid"] == pid
    # detached: not our child, not in our session (no terminal's signal reaches it)
    assert os.getsid(pid) != os.getsid(0)
    assert int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]) != os.getpid()

    path = warm.socket_path()
    assert state["socket"] == str(path)
    info, folder = path.lstat(), path.parent.stat()
    assert stat.S_ISSOCK(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o600 and info.st_uid == os.getuid()
    assert stat.S_ISDIR(folder.st_mode) and stat.S_IMODE(folder.st_mode) == 0o700 and folder.st_uid == os.getuid()

    report = grade(SUM, SUM / "reference.py", device="cpu", warm=True)
    assert report.accepted and report.timings.get("warm") == 1.0, report.to_json()
    assert wait_until(lambda: warm.status()["running"] == 0)
    assert warm.status()["served"] == 1

    assert warm.stop() is True
    assert gone(pid)
    assert not path.exists()
    assert warm.status() is None


def test_idle_server_exits_by_itself_but_not_while_it_grades(private_runtime, monkeypatch, answers):
    monkeypatch.setenv("LMPREP_SERVE_IDLE_S", "1")
    pid = warm.ensure_server()["pid"]
    private_runtime.append(pid)
    path = warm.socket_path()
    # a grading longer than the idle time (5 calls of 0.4 s) is served to its end, warm
    report = grade(SUM, answers / "slow_sum.py", device="cpu", warm=True)
    assert report.accepted and report.timings.get("warm") == 1.0, report.to_json()
    assert report.timings["wall_s"] > 1.5
    # then, without gradings (and without status requests, which count as use), it leaves
    assert wait_until(lambda: gone(pid), timeout=8), "the idle server is still running"
    assert not path.exists()


# ---------------------------------------------------------------- fallback


@pytest.mark.parametrize("broken", ["world_writable_folder", "folder_below_a_file"])
def test_without_a_server_grading_is_cold_and_right(broken, tmp_path, monkeypatch):
    if broken == "world_writable_folder":  # `_private_dir` refuses it: another user could plant a socket
        folder = tmp_path / "runtime"
        folder.mkdir()
        folder.chmod(0o777)
    else:  # cannot even be created
        (tmp_path / "file").write_text("")
        folder = tmp_path / "file" / "runtime"
    monkeypatch.setenv("LMPREP_RUNTIME_DIR", str(folder))
    with pytest.raises(OSError):
        warm.ensure_server()
    for submission in (SUM / "reference.py", SUM / "mutants" / "off_by_one.py"):
        report = grade(SUM, submission, device="cpu", warm=True)
        assert "warm" not in report.timings
        assert signature(report) == signature(cold(SUM, submission))
    assert cold(SUM, SUM / "reference.py").accepted
    assert cold(SUM, SUM / "mutants" / "off_by_one.py").verdict == "Wrong Answer"
    if folder.is_dir():
        assert list(folder.iterdir()) == []  # no socket, no log, no lock: nothing started


def test_a_server_of_another_version_refuses_and_stops(private_runtime, answers):
    old = warm.ensure_server()
    private_runtime.append(old["pid"])
    path = warm.socket_path()
    # a grading in flight when the refusal comes...
    results = []
    slow = threading.Thread(target=lambda: results.append(grade(SUM, answers / "slow_sum.py", device="cpu", warm=True)))
    slow.start()
    assert wait_until(lambda: (warm.status() or {}).get("running") == 1)
    # ...then a client of another version: refused, and the socket is removed
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(str(path))
        sock.sendall(b'{"op": "grade", "fingerprint": "other", "args": {}}\n')
        reply = warm._read_line(sock, time.monotonic() + 5, bytearray())
    assert reply["pid"] == old["pid"] and "refused" in reply
    assert wait_until(lambda: not path.exists(), 2)  # a new client will start a server of its own
    if slow.is_alive():
        assert not gone(old["pid"])  # the old one finishes what it runs first
    # the grading in flight still ends warm and right, then the server exits
    slow.join(30)
    assert results and results[0].accepted and results[0].timings.get("warm") == 1.0, results
    assert wait_until(lambda: gone(old["pid"]), timeout=10)


def test_a_client_of_another_version_grades_right(private_runtime, monkeypatch):
    old = warm.ensure_server()
    private_runtime.append(old["pid"])
    monkeypatch.setattr(warm, "fingerprint", lambda: "other")
    report = grade(SUM, SUM / "mutants" / "off_by_one.py", device="cpu", warm=True)
    assert signature(report) == signature(cold(SUM, SUM / "mutants" / "off_by_one.py"))
    assert wait_until(lambda: gone(old["pid"]), timeout=10), "the server of the other version still runs"
    # no server of this client's version can start here: the grading was cold
    assert "warm" not in report.timings
    new = warm.status()
    if new is not None:
        private_runtime.append(new["pid"])
        assert new["pid"] != old["pid"]


# ---------------------------------------------------------------- isolation


@pytest.mark.parametrize("hostile", sorted(HOSTILE))
def test_a_grading_reaches_neither_the_server_nor_a_later_grading(hostile, answers, session_server):
    reference = TENSOR / "reference.py"
    expected = cold(TENSOR, reference)
    assert expected.accepted
    settle(session_server)
    _, base_s = timed_grade(TENSOR, reference, True)
    before = warm.status()

    report, took = timed_grade(TENSOR, answers / f"{hostile}.py", True)
    assert report.timings.get("warm") == 1.0, report.to_json()
    assert report.verdict != "Internal Error", report.to_json()
    assert took < 60
    if hostile == "patches_torch":  # the patch took where it ran: its own grading fails
        assert report.verdict == "Wrong Answer", report.to_json()
    if hostile in ("leaks_threads", "fills_memory"):  # harmless to its own verdict
        assert signature(report) == signature(expected), (report.verdict, report.message, report.timings)
    settle(session_server)
    after = warm.status()
    assert after["pid"] == before["pid"]
    assert after["rss_mb"] - before["rss_mb"] < 50, (before, after)

    again, again_s = timed_grade(TENSOR, reference, True)
    assert again.timings.get("warm") == 1.0
    assert signature(again) == signature(expected), again.to_json()
    assert again_s < 3 * base_s + 2, (base_s, again_s)
    if hostile == "writes_preloaded_globals":  # the spec helpers still check
        mutant = TENSOR / "mutants" / "wrong_dtype.py"
        wrong = grade(TENSOR, mutant, device="cpu", warm=True)
        assert wrong.timings.get("warm") == 1.0
        assert signature(wrong) == signature(cold(TENSOR, mutant))
        assert wrong.verdict == "Wrong Answer"
    settle(session_server)


# ---------------------------------------------------------------- concurrency


def test_eight_concurrent_gradings_give_the_cold_verdicts(answers, session_server, capsys):
    cases = [
        (SUM, SUM / "reference.py"),
        (SUM, SUM / "mutants" / "off_by_one.py"),
        (TENSOR, TENSOR / "reference.py"),
        (TENSOR, answers / "wrong_tensor.py"),
        (NGRAM, NGRAM / "reference.py"),
        (NGRAM, NGRAM / "mutants" / "fit_returns_none.py"),
        (KNESER, KNESER / "reference.py"),
        (KNESER, KNESER / "mutants" / "unseen_context_zero.py"),
    ]
    with ThreadPoolExecutor(2) as pool:
        expected = list(pool.map(lambda case: cold(*case), cases))
    assert [r.accepted for r in expected] == [True, False] * 4, [r.verdict for r in expected]
    settle(session_server)
    pid = warm.status()["pid"]
    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(lambda case: grade(*case, device="cpu", warm=True), cases))
    assert len(found) == 8
    for (_, submission), got, want in zip(cases, found, expected, strict=True):
        assert got.timings.get("warm") == 1.0, (submission, got.to_json())
        assert signature(got) == signature(want), (submission, got.to_json())
    assert wait_until(lambda: warm.status()["running"] == 0 and not server_descendants(session_server), 10)
    state = warm.status()
    assert state["pid"] == pid
    with capsys.disabled():
        print(f"\nwarm server after 8 concurrent gradings: rss {state['rss_mb']} MB, served {state['served']}")
    assert state["rss_mb"] < 1500


# ---------------------------------------------------------------- crash loop


def test_a_crash_loop_is_cheap_warm(answers, session_server):
    crash = answers / "crash_sum.py"
    settle(session_server)
    cold_runs, warm_runs = [], []
    for _ in range(2):  # interleaved, best of two each: the machine's load is not the grader's
        report, took = timed_grade(SUM, crash, False)
        assert report.verdict == "Crashed" and "warm" not in report.timings, report.to_json()
        cold_runs.append(took)
        report, took = timed_grade(SUM, crash, True)
        assert report.verdict == "Crashed" and report.timings.get("warm") == 1.0, report.to_json()
        assert report.timings["workers_started"] <= 3
        warm_runs.append(took)
    assert min(warm_runs) < min(cold_runs), (warm_runs, cold_runs)
    settle(session_server)


# ---------------------------------------------------------------- a worker that dies of an exception


@pytest.fixture(scope="module")
def broken_worker(answers, session_server):
    """The warm and cold reports of a submission whose worker dies of an uncaught exception."""
    submission = answers / "breaks_worker.py"
    return grade(SUM, submission, device="cpu", warm=True), cold(SUM, submission)


def test_a_worker_that_dies_of_an_exception_has_the_cold_verdict(broken_worker):
    got, want = broken_worker
    assert got.timings.get("warm") == 1.0
    assert want.verdict == "Runtime Error", want.to_json()
    assert signature(got) == signature(want), got.to_json()


def test_a_worker_that_dies_of_an_exception_reads_the_same_warm_and_cold(broken_worker):
    got, want = broken_worker
    assert "RuntimeError: boom" in want.output
    assert got.message == want.message
    assert "RuntimeError: boom" in got.output
