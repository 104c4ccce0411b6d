"""Which challenge comes next: a review under way or due, else the one in progress, else the
first unlocked in curriculum order."""

from __future__ import annotations

from typing import TYPE_CHECKING

from grader.challenge import Challenge

if TYPE_CHECKING:
    from lmprep.review import Card
    from lmprep.store import ChallengeProgress


def unlocked(ch: Challenge, progress: dict[str, ChallengeProgress]) -> bool:
    """Every prerequisite solved (or skipped: the learner chose to move past it)."""
    return all((p := progress.get(slug)) is not None and p.status in ("solved", "skipped") for slug in ch.prerequisites)


def next_challenge(
    challenges: list[Challenge],
    progress: dict[str, ChallengeProgress],
    current: str | None,
    topic: str | None = None,
    difficulty: str | None = None,
) -> Challenge | None:
    """The challenge to work on, among those matching the filters; None when all are done."""
    pool = [
        c
        for c in challenges
        if (topic is None or c.topic == topic) and (difficulty is None or c.difficulty == difficulty)
    ]
    by_slug = {c.slug: c for c in pool}
    if current in by_slug:
        return by_slug[current]
    for ch in sorted(pool, key=lambda c: (c.order, c.slug)):
        state = progress.get(ch.slug)
        if state is not None and state.status in ("solved", "skipped"):
            continue
        if unlocked(ch, progress):
            return ch
    return None


def next_review(
    challenges: list[Challenge],
    progress: dict[str, ChallengeProgress],
    due: list[Card],
    topic: str | None = None,
    difficulty: str | None = None,
) -> str | None:
    """The challenge to review, among those matching the filters: the one whose review is
    under way, else the one of the most overdue card (``due`` is most overdue first)."""
    pool = {
        c.slug
        for c in challenges
        if (topic is None or c.topic == topic) and (difficulty is None or c.difficulty == difficulty)
    }
    under_way = [p for p in progress.values() if p.reviewing and p.slug in pool]
    if under_way:
        return max(under_way, key=lambda p: p.last_activity).slug
    return next((card.slug for card in due if card.slug in pool), None)
