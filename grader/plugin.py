"""The judge's pytest plugin: spec fixtures, markers, and one outcome per collected test.

Fixtures for specs:
- ``sub``: the submission in the worker (`grader.proxy.Submission`), on the test's device;
- ``ref``: the challenge's reference module, imported here in the judge as an oracle;
- ``device``: "cpu" or "cuda", parametrised over the challenge's devices; CUDA cases
  skip, with the reason, where no GPU is present.

Markers: ``points(n)`` (default 1), ``public`` (shown to the learner and run by
``lmprep test``), ``time_limit(seconds)`` (this test's wall-clock budget in the worker).

Outcomes are classified in ``pytest_runtest_makereport`` (where the exception is at hand)
and merged per node id in ``pytest_runtest_logreport``: a failing setup or teardown
turns a pass into that failure. Every collected test must end with an outcome; the
judge turns a missing one into an error, never a pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pytest

from grader import proxy
from grader.report import Outcome

MARKERS = (
    "points(n): points this test is worth (default 1)",
    "public: an example shown to the learner and run by `lmprep test`",
    "time_limit(seconds): wall-clock budget for this test's calls into the submission",
)


@dataclass
class Result:
    nodeid: str
    outcome: str | None = None
    message: str = ""
    duration_s: float = 0.0
    diagnosis: str = ""


@dataclass
class Context:
    """What the judge hands the plugin before pytest starts."""

    session: proxy.Session
    reference: Any
    devices: list[str]
    cuda_available: bool
    public_only: bool = False
    items: list = field(default_factory=list)
    results: dict[str, Result] = field(default_factory=dict)
    collect_errors: list[str] = field(default_factory=list)  # "file: the error", for an Internal Error


CONTEXT: Context | None = None


def _ctx() -> Context:
    if CONTEXT is None:
        raise RuntimeError("the grader plugin runs only inside the judge")
    return CONTEXT


def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS:
        config.addinivalue_line("markers", line)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "device" in metafunc.fixturenames:
        devices = _ctx().devices
        metafunc.parametrize("device", devices, ids=devices, indirect=True)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    ctx = _ctx()
    if ctx.public_only:
        items[:] = [item for item in items if item.get_closest_marker("public")]
    ctx.items = list(items)
    ctx.results = {item.nodeid: Result(item.nodeid) for item in items}
    for item in items:  # the Report's messages come from `classify`, never from pytest's traceback
        item.repr_failure = _exception_only  # (whose source and AST walk cost ~0.09 s a failure)
        item._repr_failure_py = _exception_only


def _exception_only(excinfo: pytest.ExceptionInfo, style=None) -> str:
    return excinfo.exconly()


def pytest_collectreport(report: pytest.CollectReport) -> None:
    """A spec file that cannot be collected is the grader's fault: keep why, in one line."""
    if report.failed:
        lines = [line[1:].strip() for line in str(report.longrepr).splitlines() if line.startswith("E ")]
        where = report.nodeid.rsplit("/", 1)[-1] or "the specs"
        _ctx().collect_errors.append(f"{where}: {lines[-1] if lines else str(report.longrepr).strip()[-300:]}")


@pytest.fixture
def device(request: pytest.FixtureRequest) -> str:
    name = request.param
    if name == "cuda" and not _ctx().cuda_available:
        pytest.skip("no CUDA device on this machine")
    return name


@pytest.fixture
def sub(request: pytest.FixtureRequest) -> proxy.Submission:
    device = request.getfixturevalue("device") if "device" in request.fixturenames else "cpu"
    return proxy.Submission(_ctx().session, device)


@pytest.fixture(scope="session")
def ref() -> Any:
    return _ctx().reference


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    marker = item.get_closest_marker("time_limit")
    _ctx().session.begin_test(float(marker.args[0]) if marker else None)
    yield


def diagnosis_of(exc: BaseException) -> str:
    """The diagnosis a spec attached to its failure (`grader.spec.fail`), or ''."""
    group = getattr(exc, "exceptions", None)
    if isinstance(group, tuple) and group and isinstance(group[0], BaseException):
        return diagnosis_of(group[0])
    found = getattr(exc, "diagnosis", "")
    return found if isinstance(found, str) else ""


def classify(exc: BaseException) -> tuple[Outcome, str]:
    """The outcome a test's exception stands for, and a message for the learner."""
    group = getattr(exc, "exceptions", None)  # an exception group (Hypothesis with several bugs)
    if isinstance(group, tuple) and group and isinstance(group[0], BaseException):
        return classify(exc.exceptions[0])
    if isinstance(exc, proxy.SubmissionError):
        return Outcome(exc.outcome), str(exc) or _default_message(Outcome(exc.outcome))
    if isinstance(exc, proxy.RemoteException):
        return Outcome.RUNTIME_ERROR, f"your code raised {exc}"
    if isinstance(exc, AssertionError):
        return Outcome.WRONG_ANSWER, _assertion_message(exc)
    if isinstance(exc, pytest.fail.Exception):  # pytest.fail, pytest.raises that saw nothing
        text = str(exc.msg if hasattr(exc, "msg") else exc)
        raised = re.match(r"DID NOT RAISE <class '(?:builtins\.)?([\w.]+)'>", text)
        if raised:
            text = f"expected the call to raise {raised.group(1)}, but it returned normally"
        return Outcome.WRONG_ANSWER, text
    return Outcome.ERROR, f"the grader failed on this test ({type(exc).__name__}: {exc})"


def _default_message(outcome: Outcome) -> str:
    return {
        Outcome.TIME_LIMIT: "the call did not finish within the time limit",
        Outcome.MEMORY_LIMIT: "the call exceeded the memory limit",
        Outcome.OUTPUT_LIMIT: "the submission printed more than the output limit allows",
    }.get(outcome, outcome.value.replace("_", " "))


def _assertion_message(exc: AssertionError) -> str:
    text = str(exc).strip()
    # pytest's assertion rewriting appends the compared expressions, which can show a
    # hidden expected value: keep the spec author's own message only
    text = re.split(r"\n(?:assert |where |\+  where )", text, maxsplit=1)[0].strip()
    if not text or text.startswith("assert "):
        return "a hidden check failed"
    return text


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else "skipped"
        report.lmprep = (Outcome.SKIPPED, str(reason).removeprefix("Skipped: "))
    elif report.failed and call.excinfo is not None:
        report.lmprep = (*classify(call.excinfo.value), diagnosis_of(call.excinfo.value))
    elif report.failed:
        report.lmprep = (Outcome.ERROR, "the test failed without an exception")
    elif report.when == "call":
        report.lmprep = (Outcome.PASSED, "")


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    ctx = _ctx()
    result = ctx.results.get(report.nodeid)
    found = getattr(report, "lmprep", None)
    if result is None or found is None:
        return
    outcome, message, diagnosis = (*found, "")[:3]
    if report.when == "call":
        result.duration_s = report.duration
    current = Outcome(result.outcome) if result.outcome else None
    settled = (Outcome.PASSED, Outcome.SKIPPED)
    # the first failure of a test stands; a later phase can only turn a pass into a failure
    if current is None or (current in settled and outcome not in settled):
        result.outcome, result.message = outcome.value, message
        result.diagnosis = diagnosis if outcome not in settled else ""


def pytest_make_parametrize_id(config: pytest.Config, val: object, argname: str) -> str | None:
    """Readable ids for torch dtypes: ``[float16]`` rather than ``[dtype0]``."""
    text = str(val)
    return text.removeprefix("torch.") if text.startswith("torch.") else None
