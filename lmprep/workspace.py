"""The learner's workspace: one file per challenge, never overwritten without a backup.

A code challenge's file is its stub (``<slug>.py``); a quiz's is its answer sheet
(``<slug>.toml``), with every question written out as comments.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

from grader import quiz
from grader.challenge import Challenge
from lmprep import bank, paths

HEADER = "# lmprep: {slug}  (edit this file, then run `lmprep submit`)\n"
SUFFIXES = {"code": ".py", "quiz": ".toml"}
HEADER_PATTERN = re.compile(r"^# lmprep: ([a-z0-9-]+)\b", re.M)


def file_for(ch: Challenge) -> Path:
    return paths.workspace() / f"{ch.slug.replace('-', '_')}{SUFFIXES[ch.kind]}"


def starting_text(ch: Challenge, key: bool = False) -> str:
    """What the learner starts from: the stub, or the quiz's blank answer sheet
    (``key``: the sheet filled with the right answers)."""
    if ch.kind == "quiz":
        questions = bank.questions(ch)
        return _sheet(ch, questions, quiz.key(questions) if key else None)
    return HEADER.format(slug=ch.slug) + ch.stub.read_text(encoding="utf-8")


def _sheet(ch: Challenge, questions: list[quiz.Question], answers: dict | None) -> str:
    return quiz.answer_sheet(ch.slug, questions, HEADER.format(slug=ch.slug), answers)


def save_answers(ch: Challenge, answers: dict) -> Path:
    """Write a quiz's answer sheet holding ``answers``, backing up the one there."""
    path = file_for(ch)
    if path.exists():
        backup(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_sheet(ch, bank.questions(ch), answers), encoding="utf-8")
    return path


def write_stub(ch: Challenge) -> tuple[Path, bool]:
    """The challenge's file in the workspace; writes the starting text only if none is there."""
    path = file_for(ch)
    if path.exists():
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(starting_text(ch), encoding="utf-8")
    return path, True


REVIEW_NOTE = (
    "# A review: the questions due are blank; the others hold your last answers, which this review\n"
    "# does not rate (change them if you like: the whole sheet is graded).\n"
)


def fresh_for_review(
    ch: Challenge, when: dt.datetime, question_ids: list[str] | None = None
) -> tuple[Path, Path | None]:
    """Write a fresh file for a review at the challenge's usual path: the stub, or an answer
    sheet whose questions ``question_ids`` are blank and whose others hold the answers of the
    learner's last sheet (so the sheet is graded whole, and right when the review is). The
    learner's file there is moved aside first, beside it (`set_aside`). Returns the new file
    and where the old one went."""
    path = file_for(ch)
    kept = set_aside(path, "solved" if ch.kind == "code" else "answered", when) if path.exists() else None
    path.parent.mkdir(parents=True, exist_ok=True)
    if ch.kind == "quiz":
        questions = bank.questions(ch)
        try:
            last = quiz.read_sheet(kept.read_text(encoding="utf-8"), questions) if kept else {}
        except (OSError, UnicodeDecodeError, quiz.AnswerError):
            last = {}  # a sheet that no longer reads: every question blank
        due = {q.id for q in questions} if question_ids is None else set(question_ids)
        answers = {q.id: last.get(q.id) for q in questions if q.id not in due}
        text = quiz.answer_sheet(ch.slug, questions, HEADER.format(slug=ch.slug) + REVIEW_NOTE, answers)
    else:
        text = starting_text(ch)
    path.write_text(text, encoding="utf-8")
    return path, kept


def set_aside(path: Path, label: str, when: dt.datetime) -> Path:
    """Rename ``path`` to ``<name>.<label>-<time><suffix>`` beside it (e.g.
    ``kv_cache.solved-20260131-0900.py``), never over an existing file."""
    stamp = when.strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.stem}.{label}-{stamp}{path.suffix}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.stem}.{label}-{stamp}-{n}{path.suffix}")
    path.rename(target)
    return target


def challenge_of(path: Path) -> str | None:
    """The slug a file declares in its header, else the one its name stands for."""
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:2000]
    except OSError:
        return None
    found = HEADER_PATTERN.search(head)
    if found:
        return found.group(1)
    return path.stem.replace("_", "-") if path.suffix in SUFFIXES.values() else None


def backup(path: Path) -> Path:
    """Copy ``path`` into the workspace's .backups folder with a timestamp."""
    folder = paths.workspace() / ".backups"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"{path.stem}.{stamp}{path.suffix}"
    shutil.copy2(path, target)
    return target


def reset(ch: Challenge) -> Path | None:
    """Back up the learner's file and write a fresh stub; returns the backup, if any."""
    path = file_for(ch)
    saved = backup(path) if path.exists() else None
    if path.exists():
        path.unlink()
    write_stub(ch)
    return saved
