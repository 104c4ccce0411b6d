"""What a learner does, as functions the CLI calls: next, start, submit, hint, progress, ..."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader import Report
from grader.challenge import Challenge
from lmprep import bank, grading, paths, review, scheduler, workspace
from lmprep.errors import LmprepError

if TYPE_CHECKING:  # lmprep.store imports sqlite-utils (~0.1 s): `submit` opens it while the grading starts
    from lmprep.store import ChallengeProgress, ProgressStore

HINT_SECTION = re.compile(r"^## Hint (\d+)\s*$", re.M)


@dataclass
class Started:
    challenge: Challenge
    path: Path
    created: bool
    locked_by: list[str] = field(default_factory=list)
    review: dict | None = None  # a review: why (due since, last rating), the questions, the file kept


class Learner:
    def __init__(self, db: str | Path | None = None):
        self.db_path = paths.database(db)
        self._store: ProgressStore | None = None

    @property
    def store(self) -> ProgressStore:
        if self._store is None:
            from lmprep.store import ProgressStore

            self._store = ProgressStore(self.db_path)
        return self._store

    # ------------------------------------------------------------ choosing

    def progress(self) -> dict[str, ChallengeProgress]:
        return self.store.progress()

    def start(self, slug: str) -> Started:
        ch = bank.get(slug)
        path, created = workspace.write_stub(ch)
        progress = self.progress()
        if progress.get(slug) is None or progress[slug].status != "in progress":
            self.store.add_event(slug, "start")
        locked_by = [p for p in ch.prerequisites if progress.get(p) is None or progress[p].status != "solved"]
        return Started(ch, path, created, locked_by)

    def next(self, topic: str | None = None, difficulty: str | None = None, new: bool = False) -> Started | None:
        """The review under way or the most overdue review (unless ``new``), else the
        challenge in progress, else the first unlocked one."""
        challenges = bank.all_challenges()
        if topic and topic not in {c.topic for c in challenges}:
            raise LmprepError(f"unknown topic {topic!r} (topics: {', '.join(sorted({c.topic for c in challenges}))})")
        progress = self.progress()
        if not new:
            slug = scheduler.next_review(challenges, progress, review.due(self.store, self.now()), topic, difficulty)
            if slug:
                return self.review(slug)
        working = [p for p in progress.values() if p.status == "in progress"]
        current = max(working, key=lambda p: p.last_activity).slug if working else None
        ch = scheduler.next_challenge(challenges, progress, current, topic, difficulty)
        return self.start(ch.slug) if ch else None

    # ------------------------------------------------------------ review

    def now(self) -> dt.datetime:
        from lmprep.store import clock

        return clock()

    def review(self, slug: str) -> Started:
        """Start a review of ``slug`` (or resume the one under way): a fresh stub (a quiz: a
        sheet of its due questions) at the usual path, the learner's file kept beside it."""
        ch = bank.get(slug)
        now = self.now()
        mine = [c for c in review.cards(self.store, now) if c.slug == slug]
        if not mine:
            what = "answered" if ch.kind == "quiz" else "solved"
            raise LmprepError(f"{slug} is not {what} yet: nothing to review (start it with `lmprep start {slug}`)")
        due = [c for c in mine if c.due <= now]
        shown = due or mine  # nothing due: an early review of them all
        info = {
            "slug": slug,
            "due": min(c.due for c in shown),
            "overdue": bool(due),
            "last_rating": shown[0].last_rating,
            "last_review": shown[0].last_review,
            "interval_days": shown[0].interval_days,
            "questions": [c.key.split("#", 1)[1] for c in shown] if ch.kind == "quiz" else None,
        }
        state = self.progress().get(slug)
        if state is not None and state.reviewing:  # under way: resume it, never a second fresh file
            (event,) = self.store.events(slug, "review")[-1:]
            info.update(json.loads(event["detail"] or "{}"), resumed=True)
            info.update({k: dt.datetime.fromisoformat(info[k]) for k in ("due", "last_review")})
            return Started(ch, workspace.file_for(ch), False, review=info)
        path, kept = workspace.fresh_for_review(ch, now, info["questions"])
        info.update(kept=str(kept) if kept else None, resumed=False)
        self.store.add_event(slug, "review", json.dumps({**info, "kind": ch.kind}, default=dt.datetime.isoformat))
        return Started(ch, path, True, review=info)

    def reviews(self, upcoming: int = 10) -> dict:
        """What is due now (most overdue first) and the next ``upcoming`` cards to fall due."""
        now = self.now()
        cards = review.cards(self.store, now)
        return {
            "now": now,
            "due": [c for c in cards if c.due <= now],
            "upcoming": [c for c in cards if c.due > now][:upcoming],
            "streak": review.streak(self.store, now.date()),
        }

    def rated_by(self, attempt_id: int) -> list:
        """The review cards this attempt rated (none when it rated nothing: a re-submit of a
        solved challenge outside a review, a blank quiz question, a grader fault)."""
        (row,) = [a for a in self.store.attempts() if a["id"] == attempt_id]
        when = review.parse_time(row["created_at"])
        return [c for c in review.cards(self.store, self.now()) if c.slug == row["slug"] and c.last_review == when]

    # ------------------------------------------------------------ grading

    def resolve(self, path: Path | None, slug: str | None) -> tuple[Path, Challenge]:
        """The file to grade and its challenge, inferred where not given."""
        if path is None:
            slug = slug or self.store.current()
            if slug is None:
                raise LmprepError("no challenge in progress: run `lmprep next`, or give a file")
            ch = bank.get(slug)
            return grading.check_submission_file(workspace.file_for(ch), ch.kind), ch
        path = grading.check_submission_file(path)
        declared = workspace.challenge_of(path)
        known = declared is not None and (bank.challenges_dir() / declared / "challenge.toml").is_file()
        if slug is None:
            if not known:
                raise LmprepError(f"{path}: cannot tell which challenge this file answers; pass --challenge SLUG")
            slug = declared
        ch = bank.get(slug)
        if known and declared != slug:
            raise LmprepError(f"{path} is the file for {declared}, not {slug}")
        return grading.check_submission_file(path, ch.kind), ch

    def submit(self, path: Path | None, slug: str | None, device: str = "auto") -> tuple[Report, int]:
        path, ch = self.resolve(path, slug)
        code = path.read_text(encoding="utf-8", errors="replace")
        # the attempt is recorded (the store opened: ~0.1 s) while the grading starts
        begun = _Background(lambda: self.store.begin_attempt(ch.slug, str(path), code, device, ch.content_hash()))
        try:
            report = grading.grade_file(path, ch.slug, device=device, db=self.db_path)
        except BaseException:  # interrupted (or broken) before a verdict: recorded as such
            attempt = begun.result(reraise=False)
            if attempt is not None:
                self.store.interrupt_attempt(attempt)
            raise
        attempt = begun.result()  # a database that cannot be used says so now, the grading unsaved
        self.store.finish_attempt(attempt, report)
        return report, attempt

    def save_answers(self, ch: Challenge, answers: dict) -> Path:
        """Write a quiz's answer sheet (the previous one is backed up)."""
        return workspace.save_answers(ch, answers)

    def test(self, path: Path | None, slug: str | None, device: str = "auto", hidden: bool = False) -> Report:
        """The public examples (or, ``hidden``, every spec), not recorded."""
        path, ch = self.resolve(path, slug)
        return grading.grade_file(path, ch.slug, device=device, public_only=not hidden, db=self.db_path)

    # ------------------------------------------------------------ help

    def hint(self, slug: str | None) -> tuple[Challenge, list[str], bool]:
        """Reveals the next hint; returns every hint revealed so far and whether it was new."""
        ch = self._slug_or_current(slug)
        if ch.kind == "quiz":
            raise LmprepError(f"{ch.slug} is a quiz: it has no hints; each question's explanation follows grading")
        hints = split_hints(ch)
        from lmprep.store import ChallengeProgress

        seen = self.progress().get(ch.slug, ChallengeProgress(ch.slug)).hints
        if seen < len(hints):
            self.store.add_event(ch.slug, "hint", str(seen + 1))
            return ch, hints[: seen + 1], True
        return ch, hints, False

    def solution(self, slug: str, confirmed: bool) -> str:
        ch = bank.get(slug)
        from lmprep.store import ChallengeProgress

        solved = self.progress().get(slug, ChallengeProgress(slug)).solved
        if not solved and not confirmed:
            raise LmprepError(f"{slug} is not solved yet: pass --yes to see the reference solution anyway")
        self.store.add_event(slug, "solution", "after solving" if solved else "before solving")
        if ch.kind == "quiz":
            return workspace.starting_text(ch, key=True)  # the answer key
        return ch.reference.read_text(encoding="utf-8")

    def skip(self, slug: str | None) -> Challenge:
        ch = self._slug_or_current(slug)
        self.store.add_event(ch.slug, "skip")
        return ch

    def reset(self, slug: str) -> Path | None:
        ch = bank.get(slug)
        saved = workspace.reset(ch)
        self.store.add_event(slug, "reset", str(saved or ""))
        return saved

    def _slug_or_current(self, slug: str | None) -> Challenge:
        slug = slug or self.store.current()
        if slug is None:
            raise LmprepError("no challenge in progress: name one, or run `lmprep next`")
        return bank.get(slug)

    # ------------------------------------------------------------ summary

    def summary(self) -> dict:
        """Solved / attempted / total per topic and per difficulty, plus recent activity.

        ``attempts`` counts the learner's attempts; Internal Errors are counted apart in
        ``grader_errors`` and listed in ``recent`` with ``counted`` false. ``reviews``: the
        cards due now, when the next one falls due, and the streak (days in a row with an
        attempt).
        """
        from lmprep.store import counted

        challenges = bank.all_challenges()
        progress = self.progress()

        def group(key: str) -> dict[str, dict]:
            out: dict[str, dict] = {}
            for ch in challenges:
                row = out.setdefault(getattr(ch, key), Counter(total=0, solved=0, attempted=0))
                state = progress.get(ch.slug)
                row["total"] += 1
                row["solved"] += bool(state and state.solved)
                row["attempted"] += bool(state and state.attempts)
            return {k: dict(v) for k, v in out.items()}

        attempts = self.store.attempts()
        recent = [
            {
                "slug": a["slug"],
                "when": a["created_at"],
                "verdict": a["verdict"] or a["status"],
                "score": a["score"],
                "max_score": a["max_score"],
                "counted": counted(a),
            }
            for a in attempts[-10:][::-1]
        ]
        learners = sum(map(counted, attempts))
        reviews = self.reviews(upcoming=1)
        return {
            "solved": sum(p.solved for p in progress.values()),
            "total": len(challenges),
            "attempts": learners,
            "grader_errors": len(attempts) - learners,
            "hints": sum(p.hints for p in progress.values()),
            "by_topic": group("topic"),
            "by_difficulty": group("difficulty"),
            "recent": recent,
            "reviews": {
                "due": len(reviews["due"]),
                "next_due": reviews["upcoming"][0].due.isoformat() if reviews["upcoming"] else None,
                "streak": reviews["streak"],
            },
        }


class _Background:
    """``fn()`` run in a thread from now; `result` waits for it and returns or raises what it did."""

    def __init__(self, fn: Callable[[], Any]):
        self._value: Any = None
        self._error: BaseException | None = None

        def run() -> None:
            try:
                self._value = fn()
            except BaseException as exc:  # noqa: BLE001 - handed to the caller of result()
                self._error = exc

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def result(self, reraise: bool = True) -> Any:
        self._thread.join()
        if self._error is not None and reraise:
            raise self._error
        return self._value


def split_hints(ch: Challenge) -> list[str]:
    text = (ch.path / "hints.md").read_text(encoding="utf-8") if (ch.path / "hints.md").exists() else ""
    parts = HINT_SECTION.split(text)
    # parts: [preamble, "1", body1, "2", body2, ...]
    return [parts[i + 1].strip() for i in range(1, len(parts) - 1, 2)]
