"""Helpers for the answer-key tests of the quizzes (tests/test_quiz_keys_*.py).

Questions come from ``grader.quiz.load_questions``, which already validates questions.toml
(ids, types, labels, answers, tolerances, units, accepted forms) and gives canonical answers:
``single`` "b", ``multiple`` a sorted list, ``ordering`` a list, ``truefalse`` a bool, ``numeric``
a float, ``short`` its ``accepted`` forms. A test file registers one key check per question
with a ``KeyChecks`` registry, which also tells when a question has none.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pytest

from grader.quiz import Question, load_questions
from tests.conftest import ROOT

CHALLENGES = ROOT / "challenges"


@cache
def questions(slug: str) -> dict[str, Question]:
    """The quiz's questions by id, in file order."""
    return {q.id: q for q in load_questions(CHALLENGES / slug)}


def label_of(q: Question, fragment: str) -> str:
    """The label of the one choice (or item) whose text contains ``fragment``."""
    hits = [label for label, option in zip(q.labels, q.options) if fragment in option]
    assert len(hits) == 1, f"{q.id}: {fragment!r} matches {hits} of {q.options}"
    return hits[0]


def assert_numeric(q: Question, computed: float, wrong: tuple[float, ...] = ()) -> None:
    """The key is within tolerance of the computed value; the tempting mistakes ``wrong`` are not."""
    assert q.type == "numeric", q.id
    assert abs(q.answer - computed) <= q.tolerance, f"{q.id}: key {q.answer} but computed {computed}"
    for value in wrong:
        assert abs(q.answer - value) > q.tolerance, f"{q.id}: the mistake {value} would be accepted"


def accepts(q: Question, answer: str) -> bool:
    """Whether the grader gives the points for this short answer."""
    return q.correct(q.read(answer))


def assert_accepts(q: Question, *answers: str) -> None:
    assert q.type == "short", q.id
    for answer in answers:
        assert accepts(q, answer), f"{q.id}: {answer!r} should be accepted"


def assert_rejects(q: Question, *answers: str) -> None:
    for answer in answers:
        assert not accepts(q, answer), f"{q.id}: {answer!r} should not be accepted"


class KeyChecks:
    """The key checks of some quizzes, one per question: ``@key(slug, qid) def _(q): ...``."""

    def __init__(self, *slugs: str) -> None:
        self.slugs = slugs
        self.checks: dict[tuple[str, str], Callable[[Question], None]] = {}

    def __call__(self, slug: str, qid: str):
        assert slug in self.slugs, slug

        def register(check: Callable[[Question], None]) -> Callable[[Question], None]:
            assert (slug, qid) not in self.checks, f"two checks for {slug}:{qid}"
            self.checks[(slug, qid)] = check
            return check

        return register

    def cases(self) -> list:
        """Every question of the quizzes, as ``(slug, qid)`` parameters."""
        return [pytest.param(slug, qid, id=f"{slug}:{qid}") for slug in self.slugs for qid in questions(slug)]

    def run(self, slug: str, qid: str) -> None:
        assert (slug, qid) in self.checks, f"no key check for {slug}:{qid}"
        self.checks[(slug, qid)](questions(slug)[qid])

    def assert_complete(self) -> None:
        """Every question has a check, and every check a question."""
        present = {(slug, qid) for slug in self.slugs for qid in questions(slug)}
        assert present - set(self.checks) == set(), f"no key check for {sorted(present - set(self.checks))}"
        assert set(self.checks) - present == set(), f"checks without a question: {sorted(set(self.checks) - present)}"
