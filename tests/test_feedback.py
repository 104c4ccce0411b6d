"""The first failure teaches: diagnoses attached by the specs, the failure a learner is
shown first, messages that name calls and values (never the grader's proxies), warnings
as a learner reads them, and `lmprep validate --feedback`."""

import shutil

import pytest
from click.testing import CliRunner

from grader import grade
from grader.report import Outcome, TestResult, Verdict, decide, shown_failure
from lmprep.cli import cli
from lmprep.grading import hidden_paths
from lmprep.validate import expected_diagnosis
from tests.conftest import ROOT, TOY_CHALLENGES

# wrong solutions written apart from the mutants, from each challenge's prompt only
WRONG = sorted((ROOT / "tests" / "data" / "wrong").glob("*/*.py"))

SPEC = '''
import warnings

from grader.spec import Mistake, check, describe_value, diagnosing, expect_raises, fail, lazy


def test_a_plain_failure(sub):
    """plain"""
    check(sub.total([1, 2]) == 3, "total([1, 2]) should be 3")


def test_a_diagnosed_failure(sub):
    """diagnosed"""
    got = sub.total([5, 1, 2])
    calls = []

    def diagnose(value):
        calls.append(value)
        return "the first element is dropped" if value == 3 else ""

    check(got == 8, f"total([5, 1, 2]) returned {got}, expected 8", diagnosis=lazy(diagnose, got))


def test_a_runtime_error_can_carry_a_diagnosis(sub):
    """runtime diagnosed"""
    with diagnosing(lambda: "an empty list has no first element"):
        sub.first([])


def test_a_diagnosis_is_computed_only_on_failure(sub):
    """lazy"""
    def boom():
        raise AssertionError("never called")

    check(True, "fine", diagnosis=boom)


def test_a_diagnosis_that_breaks_is_dropped(sub):
    """broken diagnosis"""
    try:
        fail("what differs", diagnosis=lambda: 1 / 0)
    except Mistake as exc:
        assert str(exc) == "what differs" and exc.diagnosis == ""


def test_expect_raises_names_the_call_and_what_came_back(sub):
    """expect_raises"""
    acc = sub.Accumulator(0.0)
    try:
        expect_raises(ValueError, sub.make, 1)
    except Mistake as exc:
        assert str(exc) == "make(1) should raise ValueError, but it returned an Accumulator object.", str(exc)
    else:
        raise AssertionError("expect_raises passed")
    try:
        expect_raises(ValueError, acc.add, "x", call="acc.add('x')")
    except Mistake as exc:
        assert str(exc).startswith("acc.add('x') should raise ValueError, but it raised TypeError: "), str(exc)
    assert "unsupported" in str(expect_raises(TypeError, acc.add, "x"))
    try:
        expect_raises(ValueError, sub.total, [], call="total([])", diagnosis="an empty list is not refused")
    except Mistake as exc:
        assert str(exc) == "total([]) should raise ValueError, but it returned 0." and exc.diagnosis.startswith("an")
    assert describe_value(acc) == "an Accumulator object" and repr(acc) == "<Accumulator object>"


def test_diagnosing_names_the_mistake_of_a_failure_in_its_block(sub):
    """diagnosing"""
    import numpy as np
    from grader.spec import diagnosing
    from grader.proxy import RemoteException

    for failing, kind in ((lambda: sub.total([1, "x"])), RemoteException), ((lambda: fail("differs")), Mistake):
        try:
            with diagnosing(lambda: "strings in the list"):
                failing()
        except kind as exc:
            assert exc.diagnosis == "strings in the list"
    try:
        with diagnosing("not this one"):
            fail("differs", diagnosis="the first one stands")
    except Mistake as exc:
        assert exc.diagnosis == "the first one stands"
    assert describe_value(np.zeros(2)) == "a numpy array float64[2]"
    assert describe_value((np.zeros(2), 3)) == "a tuple (a numpy array float64[2], 3)"


def test_warnings_are_shown_once_without_library_paths(sub):
    """warnings"""
    for _ in range(3):
        sub.warn_twice()
'''

SUBMISSION = """
import warnings


def total(xs):
    return sum(xs[1:])


def make(x):
    return Accumulator(x)


def warn_twice():
    warnings.warn("mind the gap")
    warnings.warn_explicit("from a library", RuntimeWarning, "/usr/lib/python3/site-packages/lib.py", 7)


class Accumulator:
    def __init__(self, start=0.0):
        self.total = start

    def add(self, x):
        self.total += x

    def value(self):
        return self.total


def first(xs):
    return xs[0]
"""


def _result(name: str, outcome: Outcome, diagnosis: str = "") -> TestResult:
    return TestResult(
        id=name, name=name, outcome=outcome.value, points=0, max_points=1, duration_s=0, diagnosis=diagnosis
    )


def test_the_failure_shown_is_the_first_with_a_diagnosis_and_it_names_the_verdict():
    tests = [
        _result("a", Outcome.PASSED),
        _result("b", Outcome.RUNTIME_ERROR),
        _result("c", Outcome.WRONG_ANSWER, "gates in the order i, f, o, g"),
        _result("d", Outcome.WRONG_ANSWER, "another"),
    ]
    assert shown_failure(tests).name == "c" and decide(tests) == Verdict.WRONG_ANSWER
    plain = [_result("a", Outcome.PASSED), _result("b", Outcome.RUNTIME_ERROR), _result("c", Outcome.WRONG_ANSWER)]
    assert shown_failure(plain).name == "b" and decide(plain) == Verdict.RUNTIME_ERROR
    forbidden = [*tests, _result("e", Outcome.FORBIDDEN)]
    assert decide(forbidden) == Verdict.FORBIDDEN_API


@pytest.fixture
def toy(tmp_path):
    challenge = tmp_path / "toy-sum"
    shutil.copytree(TOY_CHALLENGES / "toy-sum", challenge)
    (challenge / "spec" / "test_feedback.py").write_text(SPEC)
    submission = tmp_path / "answer.py"
    submission.write_text(SUBMISSION)
    return challenge, submission


def test_a_diagnosis_travels_to_the_report_and_is_shown_first(toy):
    challenge, submission = toy
    report = grade(challenge, submission)
    by_name = {t.name: t for t in report.tests}
    assert by_name["plain"].outcome == "wrong_answer" and by_name["plain"].diagnosis == ""
    diagnosed = by_name["diagnosed"]
    assert diagnosed.diagnosis == "the first element is dropped"
    assert diagnosed.message == "total([5, 1, 2]) returned 3, expected 8"
    runtime = by_name["runtime diagnosed"]
    assert runtime.outcome == "runtime_error" and runtime.diagnosis == "an empty list has no first element"
    assert runtime.message.startswith("your code raised IndexError"), runtime.message
    for name in ("lazy", "broken diagnosis", "expect_raises", "diagnosing", "warnings"):
        assert by_name[name].outcome == "passed", (name, by_name[name].message)
    assert report.first_failure is diagnosed and report.diagnosis == diagnosed.diagnosis
    assert report.message == "diagnosed: total([5, 1, 2]) returned 3, expected 8"
    assert report.to_dict()["diagnosis"] == "the first element is dropped"
    assert "site-packages" not in report.output
    lines = report.output.splitlines()
    assert lines.count("UserWarning: mind the gap (line 14 of your file)") == 1, report.output
    assert lines.count("RuntimeWarning: from a library") == 1, report.output


def test_submit_prints_the_likely_mistake_under_the_first_failure(toy, tmp_path, monkeypatch):
    challenge, submission = toy
    monkeypatch.setenv("LMPREP_CHALLENGES", str(challenge.parent))
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "p.db"), "submit", str(submission), "-c", "toy-sum"])
    assert "First failure: diagnosed\n  total([5, 1, 2]) returned 3, expected 8\n" in result.output, result.output
    assert "  Likely mistake: the first element is dropped\n" in result.output


def test_validate_feedback_shows_each_mutants_first_failure_and_checks_its_expected_diagnosis(toy, monkeypatch):
    challenge, _ = toy
    (challenge / "spec" / "test_feedback.py").unlink()
    spec = challenge / "spec" / "test_sum.py"
    spec.write_text(
        spec.read_text().replace(
            'check(sub.total([1, 2, 3]) == 6, "total([1, 2, 3]) should be 6")',
            'got = sub.total([1, 2, 3])\n    check(got == 6, "total([1, 2, 3]) should be 6",'
            ' diagnosis="the first element is dropped" if got == 5 else "")',
        )
    )
    mutant = challenge / "mutants" / "off_by_one.py"
    mutant.write_text('"""Skips the first element.\n\nDiagnosis: first element\n"""\n' + mutant.read_text())
    result = CliRunner().invoke(cli, ["validate", str(challenge), "--feedback"])
    assert result.exit_code == 0, result.output
    assert "toy-sum: what a learner is shown first, per mutant" in result.output
    assert "  off_by_one  Wrong Answer\n    sums a small list: total([1, 2, 3]) should be 6\n" in result.output
    assert "    Likely mistake: the first element is dropped\n" in result.output
    mutant.write_text(mutant.read_text().replace("Diagnosis: first element", "Diagnosis: last element"))
    result = CliRunner().invoke(cli, ["validate", str(challenge)])
    assert result.exit_code == 1
    assert (
        "mutant off_by_one: expected a diagnosis naming 'last element', "
        "but its diagnosis is 'the first element is dropped'" in result.output
    )


@pytest.mark.parametrize("answer", WRONG, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_an_independent_wrong_answer_is_shown_its_mistake_first(answer):
    """The second set of known-wrong submissions: rejected, and the failure shown first
    carries a diagnosis naming the mistake its docstring's "Diagnosis:" line says."""
    expected = expected_diagnosis(answer)
    assert expected, f"{answer}: no 'Diagnosis:' line in its docstring"
    report = grade(ROOT / "challenges" / answer.parent.name, answer, protected=hidden_paths())
    assert report.verdict not in ("Accepted", "Internal Error"), report.message
    assert expected.lower() in report.diagnosis.lower(), (report.message, report.diagnosis)


def test_the_independent_wrong_answers_cover_every_code_challenge():
    code = {p.parent.name for p in (ROOT / "challenges").glob("*/mutants")}
    assert code <= {p.parent.name for p in WRONG}
    assert all(len(list((ROOT / "tests" / "data" / "wrong" / slug).glob("*.py"))) >= 3 for slug in code)
