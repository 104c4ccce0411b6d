"""Broken submissions against the small pure-Python challenge (the hostile ones are the
golden suite of test_hostile.py).

Each case copies its submission to a unique path, grades it, and checks the verdict, the
message the learner sees, and that no process mentioning that path is left running.
"""

import shutil
import time

import pytest

from grader import Verdict, grade
from tests.conftest import HOSTILE, SUBMISSIONS, TOY_CHALLENGES, processes_mentioning

TOY = TOY_CHALLENGES / "toy-sum"
LIMIT_S = 2.0  # toy-sum's time limit

CASES = [
    # (submission, verdict, a phrase of the message)
    ("toy_import_error.py", Verdict.RUNTIME_ERROR, "KeyError: 'missing'"),
    ("toy_syntax.py", Verdict.SYNTAX_ERROR, "line 2, column 15: '(' was never closed"),
    ("toy_missing.py", Verdict.INTERFACE_ERROR, "your file does not define `total`"),
    ("toy_wrong_signature.py", Verdict.INTERFACE_ERROR, "parameter `xs` is missing"),
    ("toy_wrong_kind.py", Verdict.INTERFACE_ERROR, "`Accumulator` should be a class"),
    ("toy_forbidden.py", Verdict.FORBIDDEN_API, "line 5: uses math.fsum"),
    ("toy_forbidden_dynamic.py", Verdict.FORBIDDEN_API, "called math.fsum"),
]


@pytest.mark.parametrize("name, verdict, phrase", CASES, ids=[c[0].removesuffix(".py") for c in CASES])
def test_broken_submission_gets_its_verdict(tmp_path, name, verdict, phrase):
    submission = tmp_path / name
    shutil.copy(SUBMISSIONS / name, submission)
    started = time.perf_counter()
    report = grade(TOY, submission)
    elapsed = time.perf_counter() - started
    assert report.verdict == verdict.value, report.to_json()
    assert phrase in report.message
    if name == "toy_forbidden.py":  # the verdict names the mistake: it is the diagnosis too
        assert report.diagnosis == "math.fsum does the work this challenge asks for: write it yourself"
    # two tests may run into the limit before the rest fail at once, plus start-up grace
    assert elapsed < 2 * LIMIT_S + 8
    time.sleep(0.1)
    assert processes_mentioning(str(submission)) == []


def test_messages_show_no_grader_frames(tmp_path):
    report = grade(TOY, SUBMISSIONS / "toy_import_error.py")
    assert "line 5, in helper" in report.message
    assert "grader" not in report.message and "Traceback" not in report.message


def test_forged_output_is_only_reported_as_output():
    report = grade(TOY, HOSTILE / "patched_pytest_reports.py")
    assert "8 passed" in report.output
    passed = [t.name for t in report.tests if t.outcome == "passed"]
    assert passed == ["input untouched", "accumulator"]  # the two checks that don't need a right sum
