"""Grading correct, partial and wrong submissions; the Report's contents."""

import json
import shutil
import subprocess
import sys

import pytest

from grader import Outcome, Report, Verdict, grade, sandbox
from grader.report import EXIT_CODES, TestResult, decide
from tests.conftest import TOY_CHALLENGES

TOY = TOY_CHALLENGES / "toy-sum"
TENSOR = TOY_CHALLENGES / "toy-tensor"


def test_reference_is_accepted_with_every_test_in_spec_order():
    report = grade(TOY, TOY / "reference.py")
    assert report.verdict == "Accepted"
    assert report.score == report.max_score == 8
    assert [t.id.split("::")[1] for t in report.tests] == [
        "test_small_list",
        "test_ranges[0]",
        "test_ranges[10]",
        "test_input_untouched",
        "test_accumulator",
        "test_rejects_strings",
    ]
    assert report.tests[0].name == "sums a small list" and report.tests[0].public
    assert report.limits["time_limit_s"] == 2.0 and report.limits["memory_limit_mb"] == 512
    assert report.isolation["level"].startswith("process+rlimits")
    abi = sandbox.landlock_abi()
    assert (f"landlock-v{abi}" in report.isolation["level"]) == (abi > 0)
    assert len(report.versions["challenge"]) == 16


def test_stub_scores_zero_with_runtime_errors():
    report = grade(TOY, TOY / "stub.py")
    assert report.verdict == "Runtime Error"
    assert report.score == 0
    assert "NotImplementedError" in report.message and "line 3, in total" in report.message


def test_mutant_is_wrong_answer_with_partial_score():
    report = grade(TOY, TOY / "mutants" / "off_by_one.py")
    assert report.verdict == "Wrong Answer"
    assert report.first_failure.name == "sums a small list"
    assert report.message == "sums a small list: total([1, 2, 3]) should be 6"
    assert 0 < report.score < report.max_score


def test_report_round_trips_through_json():
    report = grade(TOY, TOY / "reference.py")
    again = Report.from_dict(json.loads(report.to_json()))
    assert again == report


def test_tensor_challenge_reference_accepted_and_cuda_skipped_without_gpu():
    report = grade(TENSOR, TENSOR / "reference.py", device="auto")
    assert report.verdict == "Accepted", report.to_json()
    skipped = [t for t in report.tests if t.outcome == "skipped"]
    assert skipped and all("[cuda" in t.name and t.message == "no CUDA device on this machine" for t in skipped)
    assert report.devices_skipped == ["cuda"]
    assert report.dtypes == ["bfloat16", "float16", "float32"]
    assert report.versions["torch"]


def test_device_cpu_collects_no_cuda_tests():
    report = grade(TENSOR, TENSOR / "reference.py", device="cpu")
    assert report.verdict == "Accepted"
    assert not any("cuda" in t.id for t in report.tests)


def test_tensor_mutants_get_dtype_message_and_forbidden_call():
    wrong = grade(TENSOR, TENSOR / "mutants" / "wrong_dtype.py", device="cpu")
    assert wrong.verdict == "Wrong Answer"
    assert "has dtype float32, expected float16" in wrong.message
    forbidden = grade(TENSOR, TENSOR / "mutants" / "uses_mul.py", device="cpu")
    assert forbidden.verdict == "Forbidden API"
    assert "torch.Tensor.mul" in forbidden.message
    # a call caught at run time names the mistake as the static scan does
    assert forbidden.diagnosis == "torch.Tensor.mul does the work this challenge asks for: write it yourself"


def test_public_only_runs_public_tests():
    from grader.runner import grade as run

    report = run(TOY, TOY / "reference.py", public_only=True)
    assert [t.name for t in report.tests] == ["sums a small list"]


def test_broken_challenge_folder_is_internal_error_naming_the_field(tmp_path):
    broken = tmp_path / "toy-sum"
    shutil.copytree(TOY, broken)
    toml = broken / "challenge.toml"
    toml.write_text(toml.read_text().replace('difficulty = "easy"', 'difficulty = "trivial"'))
    report = grade(broken, broken / "reference.py")
    assert report.verdict == "Internal Error"
    assert report.message.endswith("challenge.toml: difficulty: must be one of easy, medium, hard")


def test_spec_bug_is_internal_error_never_the_learners(tmp_path):
    broken = tmp_path / "toy-sum"
    shutil.copytree(TOY, broken)
    (broken / "spec" / "test_bug.py").write_text("def test_bug(sub):\n    sub.total([1])\n    1 / 0\n")
    report = grade(broken, broken / "reference.py")
    assert report.verdict == "Internal Error"
    bug = [t for t in report.tests if t.id.endswith("test_bug")][0]
    assert bug.outcome == "error" and "ZeroDivisionError" in bug.message


def test_impossible_grad_request_is_internal_error(tmp_path):
    broken = tmp_path / "toy-tensor"
    shutil.copytree(TENSOR, broken)
    (broken / "spec" / "test_bug.py").write_text(
        "import torch\n\n\ndef test_bug(sub):\n"
        "    sub.grad_call(sub.scale, torch.ones(2), 1.0, wrt=[5], grad_outputs=torch.ones(2))\n"
    )
    report = grade(broken, broken / "reference.py", device="cpu")
    bug = [t for t in report.tests if t.id.endswith("test_bug")][0]
    assert report.verdict == "Internal Error" and bug.outcome == "error"
    assert "wrt entry 5 names no tensor argument" in bug.message


def _result(outcome: Outcome) -> TestResult:
    return TestResult(id="t", name="t", outcome=outcome.value, points=0, max_points=1, duration_s=0)


@pytest.mark.parametrize(
    "outcomes, verdict",
    [
        ([Outcome.PASSED, Outcome.SKIPPED], Verdict.ACCEPTED),
        ([Outcome.PASSED, Outcome.TIME_LIMIT, Outcome.WRONG_ANSWER], Verdict.TIME_LIMIT),
        ([Outcome.WRONG_ANSWER, Outcome.FORBIDDEN], Verdict.FORBIDDEN_API),
        ([Outcome.WRONG_ANSWER, Outcome.ERROR], Verdict.INTERNAL_ERROR),
        ([Outcome.SKIPPED], Verdict.INTERNAL_ERROR),
        ([], Verdict.INTERNAL_ERROR),
    ],
)
def test_verdict_from_outcomes(outcomes, verdict):
    assert decide([_result(o) for o in outcomes]) == verdict


def test_every_verdict_has_its_own_exit_code():
    codes = [EXIT_CODES[v] for v in Verdict]
    assert len(set(codes)) == len(codes) and EXIT_CODES[Verdict.ACCEPTED] == 0
    assert not {1, 2} & set(codes)


def test_classify_maps_exceptions_to_outcomes():
    import pytest as _pytest

    from grader import proxy
    from grader.plugin import classify

    assert classify(AssertionError("row 3 sums to 0.93")) == (Outcome.WRONG_ANSWER, "row 3 sums to 0.93")
    assert classify(AssertionError("assert 6 == 7")) == (Outcome.WRONG_ANSWER, "a hidden check failed")
    assert classify(AssertionError("msg\nassert 6 == 7\n +  where 7 = f()"))[1] == "msg"
    try:
        with _pytest.raises(ValueError):
            pass
    except BaseException as exc:  # noqa: BLE001 - pytest's Failed
        assert classify(exc) == (
            Outcome.WRONG_ANSWER,
            "expected the call to raise ValueError, but it returned normally",
        )
    if sys.version_info >= (3, 11):
        group = ExceptionGroup("two bugs", [AssertionError("first"), ValueError("second")])  # noqa: F821
        assert classify(group) == (Outcome.WRONG_ANSWER, "first")
    assert classify(proxy.TimeLimitExceeded(""))[0] is Outcome.TIME_LIMIT
    assert classify(KeyError("spec bug"))[0] is Outcome.ERROR
    remote = proxy.remote_exception({"type": "ValueError", "builtin": True, "message": "bad k", "traceback": ""})
    assert isinstance(remote, ValueError) and classify(remote) == (
        Outcome.RUNTIME_ERROR,
        "your code raised ValueError: bad k",
    )


LOCAL_CONSTANTS = """
import sys
sys.path.insert(0, sys.argv[1])
import gc, marked  # a local module (outside site-packages) holding a distinctive constant
from hypothesis.internal.conjecture import providers
if sys.argv[2] == "judge":
    from grader.judge import settle_hypothesis
    settle_hypothesis()
    assert gc.get_freeze_count() > 0
print("zebra-42-constant" in providers._get_local_constants().strings)
"""


@pytest.mark.parametrize("process, drawn", [("plain", "True"), ("judge", "False")])
def test_a_judges_examples_do_not_depend_on_the_modules_it_loaded(tmp_path, process, drawn):
    """Hypothesis draws some values from constants in the local modules loaded: not in a judge."""
    providers = pytest.importorskip("hypothesis.internal.conjecture.providers")
    if not hasattr(providers, "_get_local_constants"):
        pytest.skip("this Hypothesis draws no local constants")
    (tmp_path / "marked.py").write_text('MARK = "zebra-42-constant"\n')
    found = subprocess.run(
        [sys.executable, "-c", LOCAL_CONSTANTS, str(tmp_path), process], capture_output=True, text=True, check=True
    )
    assert found.stdout.strip() == drawn
