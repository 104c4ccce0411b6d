"""`grade()`: run the judge in its own process and return its Report.

This is the grader's public entry point; it imports neither torch nor pytest, so a CLI
that calls it starts fast. The judge gets a private work directory (the worker's home
and output file) that is removed afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path

from grader import warm as warm_mod
from grader.report import Report, Verdict

JUDGE_GRACE_S = 120.0
STOP_GRACE_S = 5.0  # a judge told to stop sweeps its workers within this, or is killed

_live: set = set()  # judges running now (Popen, or warm Grading), for `stop_all`
_live_lock = threading.Lock()
_local = threading.local()
_stopping = threading.Event()


class GradingStopped(Exception):
    """`stop_all` was called: this process is ending, and starts no more judges."""


def cuda_requested_but_missing(device: str) -> bool:
    if device != "cuda":
        return False
    from grader.judge import nvidia_present

    return not nvidia_present()


def default_cache_dir() -> str:
    """Caches that outlive one grading (matplotlib's fonts, Hypothesis's tables); never verdicts."""
    return os.path.join(tempfile.gettempdir(), f"lmprep-grader-cache-{os.getuid()}")


def _internal(challenge: str, message: str) -> Report:
    return Report(verdict=Verdict.INTERNAL_ERROR.value, challenge=challenge, message=message)


def grade(
    challenge_dir: str | Path,
    submission: str | Path,
    *,
    device: str = "auto",
    public_only: bool = False,
    timeout_s: float | None = None,
    cache_dir: str | Path | None = None,
    protected: Iterable[str | Path] = (),
    warm: bool | None = None,
) -> Report:
    """Grade ``submission`` against the challenge in ``challenge_dir``.

    The worker can never read the folder of challenges ``challenge_dir`` sits in;
    ``protected`` names more files and folders it must not read (other content, the
    learner's progress database).

    ``warm`` (default: unless ``LMPREP_WARM=0``) has the grading server fork the judge
    (`grader.warm`); where it cannot, the judge is started cold, as the reference
    behaviour: both give the same verdicts.

    ``timeout_s`` bounds the whole judge run (default: generous, from the challenge's
    limits); a judge that overruns it is killed with its workers and the result is an
    Internal Error, never a verdict against the learner.
    """
    challenge_dir, submission = Path(challenge_dir), Path(submission)
    slug = challenge_dir.name
    if _kind(challenge_dir) == "quiz":
        from grader import quiz

        return quiz.grade(challenge_dir, submission)  # an answer sheet is data: no judge, no worker
    if _stopping.is_set():
        raise GradingStopped("grading is stopping")
    workdir = tempfile.mkdtemp(prefix="lmprep-judge-")
    env = dict(os.environ)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    cache_dir = cache_dir or default_cache_dir()
    # the judge runs this very grader, installed or not
    parent = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (parent, env.get("PYTHONPATH", "")) if p)
    os.makedirs(cache_dir, exist_ok=True)
    env["LMPREP_GRADER_CACHE"] = str(cache_dir)
    # Hypothesis keeps its Unicode tables here (1-2 s to rebuild on every grading otherwise)
    env.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(cache_dir, "hypothesis"))
    # the judge's arguments: sent to the grading server (warm) or on a command line (cold)
    request = {
        "challenge": str(challenge_dir.resolve()),
        "submission": str(submission.resolve()),
        "workdir": workdir,
        "device": device,
        "public_only": public_only,
        "protected": [str(Path(path).resolve()) for path in protected],
    }
    started = time.perf_counter()
    timeout_s = timeout_s or _default_timeout(challenge_dir)
    if warm if warm is not None else warm_mod.enabled():
        try:
            found = warm_mod.grade(request, env, timeout_s, on_start=_track)
        finally:
            _untrack()
        if found is not None:
            shutil.rmtree(workdir, ignore_errors=True)
            report = Report.from_dict(found)
            report.timings["wall_s"] = round(time.perf_counter() - started, 4)
            return report
        shutil.rmtree(workdir, ignore_errors=True)  # whatever the warm judge left: cold starts afresh
        os.makedirs(workdir, mode=0o700)
        if _stopping.is_set():
            raise GradingStopped("grading is stopping")
    report_read, report_write = os.pipe()  # the Report comes back through a pipe, never a file
    cmd = _judge_command(request, report_write)
    received: list[bytes] = []
    try:
        try:
            proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=env,
                cwd=workdir,
                start_new_session=True,
                pass_fds=(report_write,),
            )
        except BaseException:
            os.close(report_read)
            raise
        finally:
            os.close(report_write)
        with _live_lock:
            _live.add(proc)
        if _stopping.is_set():  # stop_all ran while this judge was starting
            raise GradingStopped("grading is stopping")
        # read while the judge runs: a Report larger than the pipe's buffer must not block it
        reader = threading.Thread(target=lambda: received.append(_read_all(report_read)), daemon=True)
        reader.start()
        try:
            out, _ = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _stop(proc)
            proc.communicate()
            return _internal(slug, "the judge did not finish in time and was stopped")
        reader.join(timeout=10)
        try:
            report = Report.from_dict(json.loads(received[0]))
        except (IndexError, ValueError, TypeError):
            tail = out.decode("utf-8", "replace").strip().splitlines()[-1:] if out else []
            detail = f": {tail[0]}" if tail else ""
            status = proc.returncode
            how = f"was killed by signal {_signal_name(-status)}" if status < 0 else f"exited with status {status}"
            return _internal(slug, f"the judge {how} without a report{detail}")
        report.timings["wall_s"] = round(time.perf_counter() - started, 4)
        return report
    finally:
        proc = locals().get("proc")
        if proc is not None:
            _stop(proc)
            with _live_lock:
                _live.discard(proc)
        shutil.rmtree(workdir, ignore_errors=True)


def _track(grading) -> None:
    """Keep this thread's warm grading where `stop_all` finds it."""
    with _live_lock:
        _live.add(grading)
    _local.grading = grading
    if _stopping.is_set():
        grading.cancel()


def _untrack() -> None:
    grading = getattr(_local, "grading", None)
    if grading is not None:
        with _live_lock:
            _live.discard(grading)
        _local.grading = None


def _judge_command(request: dict, report_fd: int) -> list[str]:
    """The cold judge's command line for a grading ``request``."""
    cmd = [sys.executable, "-m", "grader.judge", "--report-fd", str(report_fd)]
    for option in ("challenge", "submission", "workdir", "device"):
        cmd += [f"--{option}", request[option]]
    cmd += ["--parent-pid", str(os.getpid())]  # the judge stops (and sweeps its workers) when this process goes
    if request["public_only"]:
        cmd.append("--public-only")
    for path in request["protected"]:
        cmd += ["--protect", path]
    return cmd


def stop_all() -> None:
    """Stop every judge this process started, and start no more: for a process that was
    interrupted (SIGINT, SIGTERM) and is about to end. Each judge sweeps its workers and
    their descendants; the `grade` calls waiting on them return or raise `GradingStopped`."""
    _stopping.set()
    with _live_lock:
        running = list(_live)
    for proc in running:
        _stop(proc)


def _stop(proc) -> None:
    """SIGTERM first: the judge kills its worker and sweeps every descendant (it is their
    subreaper); SIGKILL to its process group if it has not gone within `STOP_GRACE_S`.
    A warm grading is cancelled (its judge gets the same SIGTERM)."""
    if isinstance(proc, warm_mod.Grading):
        proc.cancel()
        return
    if proc.poll() is None:
        try:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=STOP_GRACE_S)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    _kill_group(proc)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


def _read_all(fd: int) -> bytes:
    with os.fdopen(fd, "rb") as fh:
        return fh.read()


def _kill_group(proc) -> None:
    if proc is None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _kind(challenge_dir: Path) -> str | None:
    from grader.challenge import ChallengeError, load

    try:
        return load(challenge_dir).kind
    except ChallengeError:
        return None  # the judge reports a broken folder


def _default_timeout(challenge_dir: Path) -> float:
    """Every test at its limit, plus worker start-ups: an upper bound, not a target."""
    try:
        from grader.challenge import load

        ch = load(challenge_dir)
        n_tests = sum(p.read_text(encoding="utf-8").count("def test_") for p in ch.spec_dir.glob("test_*.py"))
        return JUDGE_GRACE_S + max(n_tests, 1) * 4 * (ch.time_limit_s + 10)
    except Exception:  # noqa: BLE001 - the judge itself reports a broken folder
        return JUDGE_GRACE_S
