"""Spaced review: every solved challenge and every answered quiz question is a card,
scheduled with FSRS (the `fsrs` package: the algorithm Anki uses, with its fitted default
parameters).

The cards are derived, never stored: the learner's recorded attempts and events are
replayed through the scheduler in time order, so a reset, a deleted attempt or a database
restored from a backup always gives the cards that its history implies.

How an attempt rates a card
---------------------------

A code challenge is rated once per *episode*: from its first start (or first attempt) to
its first Accepted, and afterwards from each review (`lmprep review SLUG`, recorded as a
``review`` event) to the next Accepted. At that Accepted:

- **Again**: the solution was viewed during the episode;
- **Hard**: Accepted after failed submits, or after hints;
- **Easy**: Accepted at the first submit, no hint, in under half the challenge's
  ``est_minutes`` (`EASY_SHARE`) from the episode's start (the ``start`` or ``review``
  event; an episode with neither is never Easy);
- **Good**: Accepted at the first submit, no hint, otherwise.

Submitting a solved challenge again outside a review rates nothing: re-grading a file that
is already right says nothing of memory. A quiz question is rated by every graded attempt
that answers it: correct = Good, wrong = Again (a question left blank is not rated); the
attempt that ends a quiz review rates only the questions that review asked (its sheet
holds the learner's last answers to the others, so that it is graded whole).
Attempts graded Internal Error never count (`lmprep.store.counted`).

The card exists once the challenge is solved (code) or the question answered (quiz).
A reset of a challenge forgets everything before it, as `lmprep progress` does: its card
(every question's card, for a quiz) is gone, and restarts as a new card at the next solve.

Scheduling: FSRS's default parameters, 90 % desired retention, no fuzz (the replay must
give the same schedule every time) and no same-day learning steps (a re-solve minutes
later tests short-term memory only), so a card's next review is at least a day away.
Days (forecast, streak) are UTC days.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import fsrs

from lmprep import bank
from lmprep.errors import LmprepError

if TYPE_CHECKING:
    from grader.challenge import Challenge
    from lmprep.store import ProgressStore

EASY_SHARE = 0.5  # Easy: Accepted in under this share of the challenge's est_minutes
RATINGS = {fsrs.Rating.Again: "again", fsrs.Rating.Hard: "hard", fsrs.Rating.Good: "good", fsrs.Rating.Easy: "easy"}
STATES = {fsrs.State.Learning: "learning", fsrs.State.Review: "review", fsrs.State.Relearning: "relearning"}
NOT_ANSWERED = "Not answered."  # how grader.quiz opens the message of a blank question


@dataclass
class Card:
    """One review card: a code challenge (``key`` is its slug) or a quiz question
    (``key`` is ``slug#question-id``; ``question`` is its text)."""

    key: str
    slug: str
    question: str | None
    due: dt.datetime  # UTC, aware
    state: str  # learning | review | relearning
    stability: float
    difficulty: float
    reps: int
    lapses: int
    last_rating: str  # again | hard | good | easy
    last_review: dt.datetime

    @property
    def interval_days(self) -> int:
        """Days from the last review to the due date."""
        return (self.due - self.last_review).days

    def to_dict(self) -> dict:
        return {
            "key": self.key,
            "slug": self.slug,
            "question": self.question,
            "due": self.due.isoformat(),
            "state": self.state,
            "stability": round(self.stability, 4),
            "difficulty": round(self.difficulty, 4),
            "reps": self.reps,
            "lapses": self.lapses,
            "last_rating": self.last_rating,
            "last_review": self.last_review.isoformat(),
            "interval_days": self.interval_days,
        }


def scheduler() -> fsrs.Scheduler:
    return fsrs.Scheduler(learning_steps=(), relearning_steps=(), enable_fuzzing=False)


# ---------------------------------------------------------------- the public functions


def cards(store: ProgressStore, now: dt.datetime) -> list[Card]:
    """Every card, derived from the history recorded up to ``now``; ordered by due date."""
    challenges = {c.slug: c for c in bank.all_challenges()}
    found: list[Card] = []
    sched = scheduler()
    for slug, items in _histories(store, now).items():
        ch = challenges.get(slug)
        if ch is None:
            continue  # no longer in the bank: nothing to review it with
        replay = _replay_quiz if ch.kind == "quiz" else _replay_code
        found += replay(sched, ch, items)
    return sorted(found, key=lambda c: (c.due, c.key))


def due(store: ProgressStore, now: dt.datetime) -> list[Card]:
    """The cards due at ``now``, most overdue first."""
    return [c for c in cards(store, now) if c.due <= now]


def forecast(store: ProgressStore, now: dt.datetime, days: int = 30) -> list[tuple[dt.date, list[Card]]]:
    """Each of the next ``days`` days (today first, UTC) with the cards falling due that day;
    overdue cards count today."""
    today = now.date()
    by_day: dict[dt.date, list[Card]] = {today + dt.timedelta(days=n): [] for n in range(days)}
    for card in cards(store, now):
        day = max(card.due.date(), today)
        if day in by_day:
            by_day[day].append(card)
    return list(by_day.items())


def streak(store: ProgressStore, today: dt.date) -> int:
    """Consecutive days (UTC) with at least one counted attempt, ending today, or
    yesterday when there is none yet today."""
    from lmprep.store import counted

    days = {parse_time(a["created_at"]).date() for a in store.attempts() if counted(a)}
    day = today if today in days else today - dt.timedelta(days=1)
    count = 0
    while day in days:
        count += 1
        day -= dt.timedelta(days=1)
    return count


def due_questions(store: ProgressStore, slug: str, now: dt.datetime) -> list[str]:
    """The ids of a quiz's questions due at ``now``, in the quiz's order."""
    keys = {c.key for c in due(store, now) if c.slug == slug}
    return [q.id for q in bank.questions(bank.get(slug)) if f"{slug}#{q.id}" in keys]


# ---------------------------------------------------------------- the replay


@dataclass
class _Item:
    when: dt.datetime
    kind: str  # attempt | an event kind
    row: dict


def parse_time(text: str) -> dt.datetime:
    """A recorded time (ISO 8601) as an aware UTC datetime."""
    when = dt.datetime.fromisoformat(text)
    return when.replace(tzinfo=dt.timezone.utc) if when.tzinfo is None else when.astimezone(dt.timezone.utc)


def _histories(store: ProgressStore, now: dt.datetime) -> dict[str, list[_Item]]:
    """Each challenge's counted attempts and events up to ``now``, after its latest reset, in
    time order (at equal times: events first, then by id)."""
    from lmprep.store import counted

    events = store.events()
    resets = {e["slug"]: e for e in events if e["kind"] == "reset"}  # the latest reset of each
    found: dict[str, list[tuple]] = {}
    for a in store.attempts():
        reset = resets.get(a["slug"])
        if counted(a) and a["status"] == "done" and (reset is None or a["created_at"] > reset["created_at"]):
            found.setdefault(a["slug"], []).append(
                (parse_time(a["created_at"]), 1, a["id"], _Item(parse_time(a["created_at"]), "attempt", a))
            )
    for e in events:
        if e["kind"] != "reset" and e["id"] > resets.get(e["slug"], {}).get("id", 0):
            found.setdefault(e["slug"], []).append(
                (parse_time(e["created_at"]), 0, e["id"], _Item(parse_time(e["created_at"]), e["kind"], e))
            )
    return {
        slug: [entry[3] for entry in sorted(entries, key=lambda x: x[:3]) if entry[0] <= now]
        for slug, entries in found.items()
    }


class _Track:
    """One card's replay: the fsrs card and the counts FSRS does not keep."""

    def __init__(self, key: str, slug: str, question: str | None):
        self.key, self.slug, self.question = key, slug, question
        self.card: fsrs.Card | None = None
        self.reps = self.lapses = 0
        self.last_rating = fsrs.Rating.Good

    def rate(self, sched: fsrs.Scheduler, rating: fsrs.Rating, when: dt.datetime) -> None:
        if self.card is None:
            self.card = fsrs.Card(card_id=0, due=when)
        elif rating == fsrs.Rating.Again:
            self.lapses += 1
        self.card, _ = sched.review_card(self.card, rating, when)
        self.reps += 1
        self.last_rating = rating

    def result(self) -> Card | None:
        c = self.card
        if c is None:
            return None
        return Card(
            key=self.key,
            slug=self.slug,
            question=self.question,
            due=c.due,
            state=STATES[c.state],
            stability=float(c.stability or 0.0),
            difficulty=float(c.difficulty or 0.0),
            reps=self.reps,
            lapses=self.lapses,
            last_rating=RATINGS[self.last_rating],
            last_review=c.last_review or c.due,
        )


@dataclass
class _Episode:
    start: dt.datetime | None  # None: began at an attempt, its duration unknown
    review: bool = False
    failed: int = 0
    hints: int = 0
    solution: bool = False

    def rating(self, accepted_at: dt.datetime, est_minutes: float) -> fsrs.Rating:
        if self.solution:
            return fsrs.Rating.Again
        if self.failed or self.hints:
            return fsrs.Rating.Hard
        if self.start is not None and (accepted_at - self.start).total_seconds() < 60 * est_minutes * EASY_SHARE:
            return fsrs.Rating.Easy
        return fsrs.Rating.Good


def _replay_code(sched: fsrs.Scheduler, ch: Challenge, items: Iterable[_Item]) -> list[Card]:
    track = _Track(ch.slug, ch.slug, None)
    episode: _Episode | None = None
    for item in items:
        if item.kind == "start":
            if track.card is None and episode is None:
                episode = _Episode(item.when)
        elif item.kind == "review":
            if track.card is not None:
                episode = _Episode(item.when, review=True)
        elif item.kind == "hint":
            if episode is not None:
                episode.hints += 1
        elif item.kind == "solution":
            # viewed after solving, outside a review: reading the reference, not forgetting
            if episode is not None and (episode.review or item.row["detail"] != "after solving"):
                episode.solution = True
        elif item.kind == "attempt":
            if episode is None:
                if track.card is not None:
                    continue  # a solved challenge submitted again outside a review
                episode = _Episode(None)
            if item.row["verdict"] == "Accepted":
                track.rate(sched, episode.rating(item.when, ch.est_minutes), item.when)
                episode = None
            else:
                episode.failed += 1
    card = track.result()
    return [card] if card else []


def _replay_quiz(sched: fsrs.Scheduler, ch: Challenge, items: Iterable[_Item]) -> list[Card]:
    try:
        texts = {q.id: " ".join(q.text.split()) for q in bank.questions(ch)}
    except LmprepError:
        return []
    tracks: dict[str, _Track] = {}
    reviewed: set[str] | None = None  # during a review: the questions it asked
    for item in items:
        if item.kind == "review":
            reviewed = set(json.loads(item.row["detail"] or "{}").get("questions") or ()) or None
        elif item.kind == "skip":
            reviewed = None
        if item.kind != "attempt":
            continue
        for test in item.row["tests"]:
            qid = test.get("id")
            if qid not in texts or (test.get("message") or "").startswith(NOT_ANSWERED):
                continue
            if reviewed is not None and qid not in reviewed:
                continue  # kept from the last sheet on a review's sheet: not reviewed
            track = tracks.setdefault(qid, _Track(f"{ch.slug}#{qid}", ch.slug, texts[qid]))
            track.rate(sched, fsrs.Rating.Good if test.get("outcome") == "passed" else fsrs.Rating.Again, item.when)
        reviewed = None  # a quiz review ends at its graded attempt
    return [card for qid in texts if qid in tracks and (card := tracks[qid].result())]
