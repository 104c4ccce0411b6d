"""Verdicts, per-test outcomes and the Report the grader returns (JSON-serialisable)."""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass, field
from typing import Any


class Verdict(str, enum.Enum):
    ACCEPTED = "Accepted"
    WRONG_ANSWER = "Wrong Answer"
    RUNTIME_ERROR = "Runtime Error"
    TIME_LIMIT = "Time Limit Exceeded"
    MEMORY_LIMIT = "Memory Limit Exceeded"
    OUTPUT_LIMIT = "Output Limit Exceeded"
    SYNTAX_ERROR = "Syntax Error"
    INTERFACE_ERROR = "Interface Error"
    FORBIDDEN_API = "Forbidden API"
    CRASHED = "Crashed"
    INTERNAL_ERROR = "Internal Error"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self]


# 0 for Accepted; 1 and 2 stay free for the CLI's bad-input and misuse errors
EXIT_CODES = {
    Verdict.ACCEPTED: 0,
    Verdict.WRONG_ANSWER: 10,
    Verdict.RUNTIME_ERROR: 11,
    Verdict.TIME_LIMIT: 12,
    Verdict.MEMORY_LIMIT: 13,
    Verdict.OUTPUT_LIMIT: 14,
    Verdict.SYNTAX_ERROR: 15,
    Verdict.INTERFACE_ERROR: 16,
    Verdict.FORBIDDEN_API: 17,
    Verdict.CRASHED: 18,
    Verdict.INTERNAL_ERROR: 19,
}


class Outcome(str, enum.Enum):
    """What became of one test."""

    PASSED = "passed"
    SKIPPED = "skipped"
    WRONG_ANSWER = "wrong_answer"
    RUNTIME_ERROR = "runtime_error"
    TIME_LIMIT = "time_limit"
    MEMORY_LIMIT = "memory_limit"
    OUTPUT_LIMIT = "output_limit"
    FORBIDDEN = "forbidden"
    CRASHED = "crashed"
    ERROR = "error"  # the grader's fault, never the learner's

    @property
    def verdict(self) -> Verdict | None:
        return OUTCOME_VERDICTS.get(self)


OUTCOME_VERDICTS = {
    Outcome.WRONG_ANSWER: Verdict.WRONG_ANSWER,
    Outcome.RUNTIME_ERROR: Verdict.RUNTIME_ERROR,
    Outcome.TIME_LIMIT: Verdict.TIME_LIMIT,
    Outcome.MEMORY_LIMIT: Verdict.MEMORY_LIMIT,
    Outcome.OUTPUT_LIMIT: Verdict.OUTPUT_LIMIT,
    Outcome.FORBIDDEN: Verdict.FORBIDDEN_API,
    Outcome.CRASHED: Verdict.CRASHED,
    Outcome.ERROR: Verdict.INTERNAL_ERROR,
}


@dataclass
class TestResult:
    __test__ = False  # not a pytest test class

    id: str
    name: str
    outcome: str
    points: float
    max_points: float
    duration_s: float
    message: str = ""
    public: bool = False
    diagnosis: str = ""  # the likely mistake, in the learner's words, where the spec recognised one


@dataclass
class Report:
    verdict: str
    challenge: str
    kind: str = "code"  # the challenge's kind: "code" (specs ran) or "quiz" (questions marked)
    score: float = 0.0
    max_score: float = 0.0
    tests: list[TestResult] = field(default_factory=list)
    message: str = ""  # the verdict explained (syntax error, missing name, the failure shown)
    diagnosis: str = ""  # the failure shown's diagnosis, if it has one
    output: str = ""
    output_truncated: bool = False
    device: str = "cpu"
    devices_skipped: list[str] = field(default_factory=list)
    dtypes: list[str] = field(default_factory=list)
    limits: dict[str, Any] = field(default_factory=dict)
    isolation: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.verdict == Verdict.ACCEPTED.value

    @property
    def first_failure(self) -> TestResult | None:
        """The failure a learner is shown (see `shown_failure`)."""
        return shown_failure(self.tests)

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, data: dict) -> Report:
        data = dict(data)
        data["tests"] = [TestResult(**t) for t in data.get("tests", [])]
        return cls(**data)


def shown_failure(tests: list[TestResult]) -> TestResult | None:
    """The failure a learner reads first: the first failing test whose spec recognised the
    mistake (it carries a diagnosis), else the first failing test in spec order."""
    failed = [t for t in tests if t.outcome not in (Outcome.PASSED.value, Outcome.SKIPPED.value)]
    return next((t for t in failed if t.diagnosis), failed[0] if failed else None)


def decide(tests: list[TestResult]) -> Verdict:
    """The submission's verdict from its tests.

    A grader fault anywhere makes the whole run an Internal Error (its score can't be
    trusted); a forbidden call anywhere is Forbidden API; otherwise the failure shown
    (`shown_failure`) names the verdict, so that the verdict line and the failure under it
    agree. A run where nothing ran is an Internal Error too.
    """
    outcomes = [Outcome(t.outcome) for t in tests]
    if not outcomes or Outcome.ERROR in outcomes:
        return Verdict.INTERNAL_ERROR
    if Outcome.FORBIDDEN in outcomes:
        return Verdict.FORBIDDEN_API
    shown = shown_failure(tests)
    if shown is not None:
        return Outcome(shown.outcome).verdict
    if Outcome.PASSED not in outcomes:
        return Verdict.INTERNAL_ERROR  # everything skipped: nothing was graded
    return Verdict.ACCEPTED
