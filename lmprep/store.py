"""The progress store: a local SQLite database of everything a learner did.

It records attempts (code snapshot, verdict, score, per-test outcomes, device, durations,
challenge version) and events (challenge started, hint revealed, solution revealed,
reset, skipped, review started). Everything else — solved, in progress, hints used, the
review schedule (`lmprep.review`) — is derived from those two tables when read, so there
is no second copy of the truth to drift.

An attempt graded Internal Error (a fault of the grader or the machine) is kept, code and
message included, as the evidence of that fault, but it is never counted as the
learner's: see `counted`.

- Schema changes are numbered migrations (``m001_initial``, ...) applied under an
  exclusive file lock, so concurrent first runs cannot race. A shipped migration is
  never edited.
- Every write is one short ``BEGIN IMMEDIATE`` transaction; WAL journaling where the
  file system supports it, with a busy timeout so concurrent submits queue, not fail.
- A database that is not readable raises `StoreError`; it is never replaced silently.
  `move_aside` renames it, and only when the learner asks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from grader import Verdict
from lmprep.errors import LmprepError

BUSY_TIMEOUT_S = 60.0
migrations = sqlite_utils.Migrations("lmprep")


class StoreError(LmprepError):
    """The progress database cannot be used as it is."""


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    db["attempts"].create(
        {
            "id": int,
            "slug": str,
            "created_at": str,
            "finished_at": str,
            "status": str,  # running | done | interrupted
            "pid": int,
            "file": str,
            "code": str,
            "verdict": str,
            "score": float,
            "max_score": float,
            "device": str,
            "duration_s": float,
            "challenge_hash": str,
            "message": str,
            "tests": str,  # JSON: [{id, name, outcome, points, max_points, duration_s, message}]
        },
        pk="id",
    )
    db["attempts"].create_index(["slug", "created_at"])
    db["events"].create(
        {"id": int, "slug": str, "kind": str, "detail": str, "created_at": str},
        pk="id",
    )
    db["events"].create_index(["slug", "kind"])


EVENT_KINDS = ("start", "hint", "solution", "reset", "skip", "review")


def clock() -> dt.datetime:
    """The time now, in UTC: the real clock, or ``LMPREP_NOW`` (an ISO 8601 time; UTC when it
    names no zone) where set, so that tests and demonstrations run at a time of their choosing.
    Every time lmprep records or schedules by is read here."""
    fixed = os.environ.get("LMPREP_NOW")
    if not fixed:
        return dt.datetime.now(dt.timezone.utc)
    try:
        when = dt.datetime.fromisoformat(fixed)
    except ValueError:
        raise LmprepError(f"LMPREP_NOW={fixed!r}: not an ISO 8601 time (e.g. 2026-01-31T09:00:00+00:00)") from None
    return when.replace(tzinfo=dt.timezone.utc) if when.tzinfo is None else when.astimezone(dt.timezone.utc)


def connect(path: Path) -> tuple[sqlite_utils.Database, str]:
    """A database opened as lmprep opens one: autocommit (transactions are explicit, see
    `immediate`), a busy timeout so that concurrent writers queue instead of failing, and
    WAL where the file system allows it (else the rollback journal). Returns it and its
    journal mode. (Opened in one thread and used in another: never two at once.)"""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    try:
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    except sqlite3.OperationalError:
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
    return sqlite_utils.Database(conn), str(mode).lower()


def migrate(db: sqlite_utils.Database, pending: sqlite_utils.Migrations, path: Path) -> None:
    """Apply ``pending``'s migrations while holding an exclusive lock beside the database,
    so that concurrent first runs cannot race."""
    if not pending.pending(db):
        return
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            pending.apply(db)  # re-checks what is pending, now under the lock
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One short BEGIN IMMEDIATE transaction: committed, or rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def now() -> str:
    return clock().isoformat(timespec="microseconds")


def counted(attempt: dict) -> bool:
    """Whether an attempt counts as the learner's: every one but those graded Internal Error.

    A grader fault says nothing of the learner's code, so it adds no attempt, sets no last
    verdict and no score. Interrupted and running attempts still count.
    """
    return not (attempt["status"] == "done" and attempt["verdict"] == Verdict.INTERNAL_ERROR.value)


@dataclass
class ChallengeProgress:
    """What the store knows of one challenge, derived from attempts and events.

    ``attempts`` counts only the learner's attempts (see `counted`); ``grader_errors``
    counts those the grader failed to judge. Grader errors alone do not put a challenge
    in progress: it is in progress once started or attempted.
    """

    slug: str
    attempts: int = 0
    grader_errors: int = 0
    solved: bool = False
    best_score: float = 0.0
    max_score: float = 0.0
    hints: int = 0
    solution_seen: bool = False
    skipped: bool = False
    started: bool = False
    last_activity: str = ""
    last_verdict: str = ""
    reviewing: bool = False  # a review started (`lmprep review`) and not yet graded; still solved

    @property
    def status(self) -> str:
        if self.solved:
            return "solved"
        if self.skipped:
            return "skipped"
        if self.attempts or self.started:
            return "in progress"
        return "new"


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class ProgressStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db, self.journal_mode = connect(self.path)
            migrate(self.db, migrations, self.path)
            self._check()
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"{self.path}: not a readable lmprep database ({exc}); "
                "run `lmprep where --move-aside` to keep it as a backup and start afresh"
            ) from None

    # ------------------------------------------------------------ setup

    def _check(self) -> None:
        for table in ("attempts", "events"):
            if not self.db[table].exists():
                raise sqlite3.DatabaseError(f"table {table} is missing")

    def close(self) -> None:
        self.db.conn.close()

    def write(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One short BEGIN IMMEDIATE transaction."""
        return immediate(self.db.conn)

    # ------------------------------------------------------------ attempts

    def begin_attempt(self, slug: str, file: str, code: str, device: str, challenge_hash: str) -> int:
        """Record an attempt before grading, so a killed process leaves a trace."""
        with self.write() as conn:
            cursor = conn.execute(
                "INSERT INTO attempts (slug, created_at, status, pid, file, code, device, challenge_hash)"
                " VALUES (?, ?, 'running', ?, ?, ?, ?, ?)",
                (slug, now(), os.getpid(), file, code, device, challenge_hash),
            )
            return int(cursor.lastrowid)

    def interrupt_attempt(self, attempt_id: int) -> None:
        """The grading was stopped (SIGINT, SIGTERM): no verdict, and it says so."""
        with self.write() as conn:
            conn.execute(
                "UPDATE attempts SET status = 'interrupted', finished_at = ? WHERE id = ? AND status = 'running'",
                (now(), attempt_id),
            )

    def finish_attempt(self, attempt_id: int, report: Any) -> None:
        tests = [
            {
                k: getattr(t, k)
                for k in ("id", "name", "outcome", "points", "max_points", "duration_s", "message", "diagnosis")
            }
            for t in report.tests
        ]
        with self.write() as conn:
            conn.execute(
                "UPDATE attempts SET status = 'done', finished_at = ?, verdict = ?, score = ?, max_score = ?,"
                " device = ?, duration_s = ?, message = ?, tests = ? WHERE id = ?",
                (
                    now(),
                    report.verdict,
                    report.score,
                    report.max_score,
                    report.device,
                    report.timings.get("wall_s", report.timings.get("total_s")),
                    report.message,
                    json.dumps(tests),
                    attempt_id,
                ),
            )

    def attempts(self, slug: str | None = None) -> list[dict]:
        """Attempts, oldest first; a running attempt whose process died reads as interrupted."""
        where, args = ("WHERE slug = ?", [slug]) if slug else ("", [])
        rows = list(self.db.query(f"SELECT * FROM attempts {where} ORDER BY id", args))
        for row in rows:
            if row["status"] == "running" and not _pid_alive(row["pid"]):
                row["status"] = "interrupted"
            row["tests"] = json.loads(row["tests"]) if row["tests"] else []
        return rows

    # ------------------------------------------------------------ events

    def add_event(self, slug: str, kind: str, detail: str = "") -> None:
        if kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {kind!r}")
        with self.write() as conn:
            conn.execute(
                "INSERT INTO events (slug, kind, detail, created_at) VALUES (?, ?, ?, ?)",
                (slug, kind, detail, now()),
            )

    def events(self, slug: str | None = None, kind: str | None = None) -> list[dict]:
        clauses, args = [], []
        if slug:
            clauses.append("slug = ?")
            args.append(slug)
        if kind:
            clauses.append("kind = ?")
            args.append(kind)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        return list(self.db.query(f"SELECT * FROM events {where} ORDER BY id", args))

    # ------------------------------------------------------------ derived state

    def progress(self) -> dict[str, ChallengeProgress]:
        """Per-challenge progress, derived; resets clear what came before them."""
        found: dict[str, ChallengeProgress] = {}
        resets = {e["slug"]: e for e in self.events(kind="reset")}  # the latest reset of each
        reset_at = {slug: e["created_at"] for slug, e in resets.items()}

        graded: dict[str, list[dict]] = {}  # the counted attempts with a verdict, after the reset
        reviews: dict[str, dict] = {}  # the latest review event of each, after the reset

        def get(slug: str) -> ChallengeProgress:
            return found.setdefault(slug, ChallengeProgress(slug))

        for row in self.attempts():
            p = get(row["slug"])
            p.last_activity = max(p.last_activity, row["created_at"])
            if row["created_at"] <= reset_at.get(row["slug"], ""):
                continue
            if not counted(row):
                p.grader_errors += 1
                continue
            p.attempts += 1
            if row["status"] == "done":
                graded.setdefault(row["slug"], []).append(row)
                p.last_verdict = row["verdict"]
                p.solved = p.solved or row["verdict"] == "Accepted"
                if (row["score"] or 0) >= p.best_score:
                    p.best_score, p.max_score = row["score"] or 0.0, row["max_score"] or 0.0
            else:
                p.last_verdict = row["status"]
        for event in self.events():
            p = get(event["slug"])
            p.last_activity = max(p.last_activity, event["created_at"])
            if event["id"] <= resets.get(event["slug"], {}).get("id", 0):
                continue  # before (or is) the latest reset
            if event["kind"] == "hint":
                p.hints += 1
            elif event["kind"] == "solution":
                p.solution_seen = True
            elif event["kind"] == "skip":
                p.skipped = True
                reviews.pop(event["slug"], None)  # a review skipped is over, unrated
            elif event["kind"] == "start":
                p.started = True
            elif event["kind"] == "review":
                reviews[event["slug"]] = event
        for slug, event in reviews.items():
            # open until graded: a code challenge by an Accepted, a quiz by any graded attempt
            closers = ("Accepted",) if json.loads(event["detail"] or "{}").get("kind") == "code" else None
            found[slug].reviewing = not any(
                row["created_at"] >= event["created_at"] and (closers is None or row["verdict"] in closers)
                for row in graded.get(slug, [])
            )
        return found

    def current(self) -> str | None:
        """The challenge in progress: the latest one started or attempted, not solved or
        skipped, or under review."""
        progress = self.progress()
        open_ = [p for p in progress.values() if p.status == "in progress" or p.reviewing]
        return max(open_, key=lambda p: p.last_activity).slug if open_ else None


def move_aside(path: str | Path) -> Path:
    """Rename a database (and its WAL files) to a timestamped backup; returns the new path."""
    path = Path(path)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.broken-{stamp}")
    path.rename(target)
    for suffix in ("-wal", "-shm"):
        extra = path.with_name(path.name + suffix)
        if extra.exists():
            extra.rename(target.with_name(target.name + suffix))
    return target
