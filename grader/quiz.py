"""Quizzes (``kind = "quiz"``): questions.toml, the learner's answer sheet, grading.

A quiz is data, not code: the answer sheet is a TOML file (``<question id> = <answer>``)
parsed with ``tomllib``, so it is graded here, in the calling process, without a judge or
a worker. Question types:

- ``single``    one label of ``choices`` (``"b"``)
- ``multiple``  the exact set of correct labels (``["a", "c"]``)
- ``numeric``   a number within ``tolerance`` of ``answer``, in the stated ``units``
- ``ordering``  every label of ``items`` once, in the right order (``["c", "a", "b"]``)
- ``short``     a word or name matching one of ``accepted`` after normalisation
- ``truefalse`` ``true`` or ``false`` for the claim in ``text``

Choices and items are labelled ``a``, ``b``, ``c``, ... in the order written. An empty
string means "not answered": it scores nothing and is not an error. A malformed sheet
(bad TOML, an unknown id, a value of the wrong kind) is a Syntax Error whose message names
the question and what was expected.
"""

from __future__ import annotations

import math
import platform
import re
import string
import sys
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from grader.challenge import ChallengeError, content_hash
from grader.report import Outcome, Report, TestResult, Verdict

TYPES = ("single", "multiple", "numeric", "ordering", "short", "truefalse")
QUESTION_ID = re.compile(r"^[a-z][a-z0-9_]*$")
LABELS = string.ascii_lowercase
HOW_TO_ANSWER = {
    "single": 'one letter, e.g. "b"',
    "multiple": 'a list of every correct letter, e.g. ["a", "c"]',
    "numeric": "a number",
    "ordering": 'a list of every letter once, in order, e.g. ["c", "a", "b"]',
    "short": 'a word or short name, e.g. "softmax"',
    "truefalse": "true or false (no quotes)",
}


class AnswerError(Exception):
    """A malformed answer sheet; the message names the question and what was expected."""


@dataclass(frozen=True)
class Question:
    id: str
    type: str
    text: str
    explanation: str
    answer: Any
    points: int = 1
    choices: tuple[str, ...] = ()  # single, multiple
    items: tuple[str, ...] = ()  # ordering
    tolerance: float = 0.0  # numeric
    units: str = ""  # numeric
    accepted: tuple[str, ...] = ()  # short

    @property
    def options(self) -> tuple[str, ...]:
        """The labelled entries: choices, or the items to order."""
        return self.choices or self.items

    @property
    def labels(self) -> str:
        return LABELS[: len(self.options)]

    @property
    def how_to_answer(self) -> str:
        if self.type == "numeric":
            return f"a number, in {self.units}"
        return HOW_TO_ANSWER[self.type]

    def read(self, value: Any) -> Any:
        """The learner's TOML value in canonical form (None: not answered).

        Raises AnswerError naming this question and what it expects.
        """
        if isinstance(value, str) and not value.strip():
            return None
        if isinstance(value, list) and not value and self.type not in ("multiple", "ordering"):
            return None
        reader = getattr(self, f"_read_{self.type}")
        got = reader(value)
        if got is None:
            raise AnswerError(f"{self.id} ({self.type}): expected {self.how_to_answer}; got {_show(value)}")
        return got

    def _label(self, value: Any) -> str | None:
        if isinstance(value, str) and value.strip().lower() in self.labels and len(value.strip()) == 1:
            return value.strip().lower()
        return None

    def _labels(self, value: Any) -> list[str] | None:
        if isinstance(value, str):  # "a, c" is a forgivable spelling of ["a", "c"]
            value = [v for v in re.split(r"[\s,]+", value) if v]
        if not isinstance(value, list):
            return None
        labels = [self._label(v) for v in value]
        return None if None in labels else labels

    def _read_single(self, value: Any) -> str | None:
        return self._label(value)

    def _read_multiple(self, value: Any) -> list[str] | None:
        labels = self._labels(value)
        if labels is None or len(set(labels)) != len(labels):
            return None
        return sorted(labels)

    def _read_ordering(self, value: Any) -> list[str] | None:
        labels = self._labels(value)
        if labels is None or sorted(labels) != list(self.labels):
            return None
        return labels

    def _read_numeric(self, value: Any) -> float | None:
        if isinstance(value, bool):
            return None
        if isinstance(value, str):
            try:
                value = float(value.strip().replace("_", ""))
            except ValueError:
                return None
        if not isinstance(value, (int, float)) or not math.isfinite(value):
            return None
        return float(value)

    def _read_short(self, value: Any) -> str | None:
        return normalise(value) if isinstance(value, str) else None

    def _read_truefalse(self, value: Any) -> bool | None:
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            return {"true": True, "t": True, "yes": True, "false": False, "f": False, "no": False}.get(
                value.strip().lower()
            )
        return None

    def correct(self, answer: Any) -> bool:
        """Whether a canonical answer (from ``read``) earns the points."""
        if answer is None:
            return False
        if self.type == "numeric":
            return abs(answer - self.answer) <= self.tolerance
        if self.type == "short":
            return answer in {normalise(a) for a in self.accepted}
        if self.type == "multiple":
            return answer == sorted(self.answer)
        return answer == self.answer

    def show(self, answer: Any) -> str:
        """A canonical answer as the learner would write it."""
        return f"{answer:g} {self.units}" if self.type == "numeric" else _show(answer)

    def show_key(self) -> str:
        """The right answer, with every accepted form or the tolerance."""
        if self.type == "short":
            return " / ".join(_show(a) for a in self.accepted)
        if self.type == "numeric":
            return f"{self.answer:g} {self.units} (± {self.tolerance:g})"
        return _show(self.answer)


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def normalise(text: str) -> str:
    """Short answers compare after NFKC, lowercase, '-'/'_' as spaces, trimmed punctuation."""
    text = unicodedata.normalize("NFKC", text).lower().replace("-", " ").replace("_", " ")
    text = text.strip().rstrip(".!").strip()
    return " ".join(text.split())


# ---------------------------------------------------------------- questions.toml


def load_questions(folder: str | Path) -> list[Question]:
    """Read and check ``folder/questions.toml``; errors name the file, question and field."""
    path = Path(folder) / "questions.toml"
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ChallengeError(f"{path}: cannot read: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ChallengeError(f"{path}: not valid TOML: {exc}") from None
    extra = sorted(set(data) - {"question"})
    if extra:
        raise ChallengeError(f"{path}: {extra[0]}: unknown table (questions are [[question]] tables)")
    raw = data.get("question")
    if not isinstance(raw, list) or not raw:
        raise ChallengeError(f"{path}: no [[question]] tables")
    questions, seen = [], set()
    for n, entry in enumerate(raw, 1):
        question = _question(path, n, entry)
        if question.id in seen:
            raise ChallengeError(f"{path}: question {n}: id {question.id!r} is used twice")
        seen.add(question.id)
        questions.append(question)
    return questions


def _question(path: Path, n: int, entry: dict) -> Question:
    entry = dict(entry)
    where = f"{path}: question {n}"

    def take(name: str, kinds: type | tuple[type, ...], required: bool = True, default: Any = None) -> Any:
        value = entry.pop(name, None)
        if value is None:
            if required:
                raise ChallengeError(f"{where}: {name}: missing")
            return default
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in _tuple(kinds)):
            raise ChallengeError(f"{where}: {name}: wrong type {type(value).__name__}")
        return value

    qid = take("id", str)
    if not QUESTION_ID.match(qid):
        raise ChallengeError(f"{where}: id: {qid!r} must be lowercase letters, digits and '_'")
    where = f"{path}: question {qid!r}"
    qtype = take("type", str)
    if qtype not in TYPES:
        raise ChallengeError(f"{where}: type: must be one of {', '.join(TYPES)}")
    fields: dict[str, Any] = {
        "id": qid,
        "type": qtype,
        "text": take("text", str),
        "explanation": take("explanation", str),
        "points": take("points", int, required=False, default=1),
    }
    if fields["points"] < 1 or not fields["text"].strip() or not fields["explanation"].strip():
        raise ChallengeError(f"{where}: needs a text, an explanation and points >= 1")
    if qtype in ("single", "multiple"):
        fields["choices"] = _strings(where, "choices", take("choices", list))
    if qtype == "ordering":
        fields["items"] = _strings(where, "items", take("items", list))
    if qtype == "numeric":
        fields["tolerance"] = float(take("tolerance", (int, float)))
        fields["units"] = take("units", str)
        if not fields["tolerance"] > 0 or not fields["units"].strip():
            raise ChallengeError(f"{where}: a numeric question needs tolerance > 0 and its units")
        answer = take("answer", (int, float))
        fields["answer"] = float(answer)
    elif qtype == "short":
        fields["accepted"] = _strings(where, "accepted", take("accepted", list))
        fields["answer"] = fields["accepted"][0]
    else:
        fields["answer"] = take("answer", (str, list, bool))
    if entry:
        raise ChallengeError(f"{where}: {sorted(entry)[0]}: unknown field for a {qtype} question")
    question = Question(**fields)
    if qtype in ("single", "multiple", "ordering", "truefalse"):
        try:
            canonical = question.read(question.answer)
        except AnswerError:
            canonical = None
        if canonical is None or (qtype == "multiple" and not canonical):
            raise ChallengeError(f"{where}: answer: expected {question.how_to_answer}")
        question = Question(**{**fields, "answer": canonical})
    return question


def _tuple(kinds: type | tuple[type, ...]) -> tuple[type, ...]:
    return kinds if isinstance(kinds, tuple) else (kinds,)


def _strings(where: str, name: str, values: list) -> tuple[str, ...]:
    if not values or not all(isinstance(v, str) and v.strip() for v in values):
        raise ChallengeError(f"{where}: {name}: must be a non-empty list of strings")
    if len(values) > len(LABELS):
        raise ChallengeError(f"{where}: {name}: at most {len(LABELS)} entries")
    return tuple(values)


# ---------------------------------------------------------------- answer sheets


def answer_sheet(slug: str, questions: list[Question], header: str = "", answers: dict | None = None) -> str:
    """The TOML file a learner fills in, blank or holding ``answers`` (id -> canonical answer)."""
    answers = answers or {}
    lines = [header.rstrip("\n")] if header else []
    lines += [
        f"# {len(questions)} questions. Answer each one on its `id = ` line, keep the rest as it is,",
        f"# then run `lmprep submit`. Or answer them one by one with `lmprep quiz {slug}`.",
        '# "" means not answered.',
    ]
    for n, q in enumerate(questions, 1):
        lines += ["", f"# {n}. [{q.type}, {q.points} point{'s' if q.points > 1 else ''}]"]
        lines += [f"# {line}".rstrip() for line in q.text.strip().splitlines()]
        lines += [f"#   {label}) {option}" for label, option in zip(q.labels, q.options)]
        lines.append(f"# Answer: {q.how_to_answer}")
        value = answers.get(q.id)
        lines.append(f"{q.id} = " + ('""' if value is None else _toml(q, value)))
    return "\n".join(lines) + "\n"


def key(questions: list[Question]) -> dict[str, Any]:
    """The answer key, as answers."""
    return {q.id: q.answer for q in questions}


def _toml(q: Question, value: Any) -> str:
    return repr(float(value)) if q.type == "numeric" else _show(value)


def read_sheet(text: str, questions: list[Question]) -> dict[str, Any]:
    """Question id -> canonical answer (None: not answered). Raises AnswerError."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AnswerError(f"the answer file is not valid TOML: {exc}") from None
    by_id = {q.id: q for q in questions}
    unknown = sorted(set(data) - set(by_id))
    if unknown:
        raise AnswerError(f"{unknown[0]}: no such question in this quiz (questions: {', '.join(by_id)})")
    return {q.id: q.read(data[q.id]) if q.id in data else None for q in questions}


def grade(challenge_dir: str | Path, sheet: str | Path) -> Report:
    """Grade the answer sheet at ``sheet``; every question's explanation is in its message."""
    started = time.perf_counter()
    challenge_dir = Path(challenge_dir)
    report = Report(verdict=Verdict.INTERNAL_ERROR.value, challenge=challenge_dir.name, kind="quiz")
    report.versions = {"python": platform.python_version()}
    report.isolation = {"level": "none needed", "why": "a quiz answer sheet is data, parsed as TOML; no code runs"}
    try:
        questions = load_questions(challenge_dir)
    except ChallengeError as exc:
        report.message = str(exc)
        return report
    report.versions["challenge"] = content_hash(challenge_dir)
    report.max_score = float(sum(q.points for q in questions))
    try:
        text = Path(sheet).read_text(encoding="utf-8")
        answers = read_sheet(text, questions)
    except (OSError, UnicodeDecodeError) as exc:
        report.verdict, report.message = Verdict.SYNTAX_ERROR.value, f"cannot read the answer file: {exc}"
        return report
    except AnswerError as exc:
        report.verdict, report.message = Verdict.SYNTAX_ERROR.value, str(exc)
        return report
    for n, q in enumerate(questions, 1):
        got = answers[q.id]
        ok = q.correct(got)
        verdict = "Correct." if ok else ("Not answered." if got is None else f"Your answer: {q.show(got)}.")
        message = f"{verdict} Answer: {q.show_key()}.\n{q.explanation.strip()}"
        report.tests.append(
            TestResult(
                id=q.id,
                name=f"{n}. {_headline(q.text)}",
                outcome=(Outcome.PASSED if ok else Outcome.WRONG_ANSWER).value,
                points=float(q.points if ok else 0),
                max_points=float(q.points),
                duration_s=0.0,
                message=message,
            )
        )
    report.score = sum(t.points for t in report.tests)
    report.verdict = (Verdict.ACCEPTED if report.score == report.max_score else Verdict.WRONG_ANSWER).value
    answered = sum(a is not None for a in answers.values())
    report.message = f"{int(report.score)} of {int(report.max_score)} points; {answered} of {len(questions)} answered"
    report.timings["total_s"] = round(time.perf_counter() - started, 4)
    return report


def _headline(text: str, width: int = 48) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1].rstrip() + "…"
