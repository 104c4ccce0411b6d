"""`lmprep grade`: a class's submissions graded into a gradebook, resumably.

A submission is a file; its student is the folder it sits in (``roster/<student>/answer.py``)
or, for a flat folder or a file named on the command line, the file's stem. Every file is
read and hashed once, before any grading, and the grader is given a copy of those bytes,
so a hostile submission that rewrites a classmate's file changes nothing the gradebook
grades.

Results live in a gradebook database (SQLite, `Gradebook`) keyed by
``(submission sha256, challenge content hash, lmprep version)``: a result is committed as
soon as it is known, so a run killed half-way (even by SIGKILL) loses nothing, and the
next run grades only what has no result yet (late submissions, a changed challenge, a new
lmprep). Identical files — two students who handed in the same bytes — are graded once.
An Internal Error (the grader's fault, never the student's) is kept but graded again.

Past one machine: ``--shard I/N`` keeps the submissions whose sha256 falls in shard I, so
a job array grades one shard per node, and `merge` combines the nodes' exports. Nothing is
ever written into a learner's progress database.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from grader import Report, Verdict, grade
from grader.challenge import Challenge
from lmprep import __version__, bank, store, workspace
from lmprep.errors import LmprepError
from lmprep.grading import check_device, hidden_paths

migrations = sqlite_utils.Migrations("lmprep-gradebook")
# the columns of an exported gradebook, in order
COLUMNS = (
    "student",
    "file",
    "sha256",
    "challenge",
    "verdict",
    "score",
    "max_score",
    "tests",
    "message",
    "diagnosis",
    "duration_s",
    "device",
    "lmprep_version",
    "challenge_hash",
    "graded_at",
)


@migrations()
def m001_initial(db: sqlite_utils.Database) -> None:
    db["results"].create(
        {
            "sha256": str,
            "challenge_hash": str,
            "lmprep_version": str,
            "challenge": str,
            "verdict": str,
            "score": float,
            "max_score": float,
            "tests": str,  # JSON: [{name, outcome, points, max_points}] in spec order
            "message": str,
            "diagnosis": str,
            "duration_s": float,
            "device": str,
            "graded_at": str,
        },
        pk=("sha256", "challenge_hash", "lmprep_version"),
    )
    db["submissions"].create(
        {"challenge": str, "student": str, "file": str, "sha256": str, "seen_at": str},
        pk=("challenge", "student", "file", "sha256"),
    )


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------- submissions


@dataclass(frozen=True)
class Submission:
    student: str
    file: str  # as found (for the gradebook)
    sha256: str
    data: bytes


def collect(paths: Iterable[str | Path], suffix: str) -> list[Submission]:
    """Every submission under ``paths``, read once: a file names one; a folder's files are
    students (their stem) and its subfolders are students (their name) holding one or
    more files (every ``*suffix`` file under it: several are several attempts)."""
    found: dict[str, Submission] = {}

    def add(student: str, file: Path) -> None:
        key = str(file.resolve())
        if key in found:
            return
        try:
            data = file.read_bytes()
        except OSError as exc:
            raise LmprepError(f"{file}: cannot be read ({exc.strerror})") from None
        found[key] = Submission(student, str(file), hashlib.sha256(data).hexdigest(), data)

    for path in map(Path, paths):
        if path.is_file():
            if path.suffix != suffix:
                raise LmprepError(f"{path}: a submission to this challenge is a {suffix} file")
            add(path.stem, path)
        elif path.is_dir():
            for child in sorted(path.iterdir()):
                if child.is_dir():
                    for file in sorted(child.rglob(f"*{suffix}")):
                        if file.is_file() and "__pycache__" not in file.parts:
                            add(child.name, file)
                elif child.suffix == suffix and child.is_file():
                    add(child.stem, child)
        else:
            raise LmprepError(f"{path}: no such file or folder")
    return list(found.values())


def parse_shard(text: str) -> tuple[int, int]:
    """``"I/N"`` → (I, N), 0 ≤ I < N (a job array's index as it comes: Slurm, Kubernetes)."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        raise LmprepError(f"--shard {text}: expected I/N, e.g. 0/4 (shards are numbered 0 to N-1)") from None
    if count < 1 or not 0 <= index < count:
        raise LmprepError(f"--shard {text}: I must be in 0..N-1 and N at least 1")
    return index, count


def in_shard(sha256: str, shard: tuple[int, int] | None) -> bool:
    """Whether a submission belongs to ``shard``: by its content, so that every node agrees
    and identical files land together."""
    return shard is None or int(sha256[:16], 16) % shard[1] == shard[0]


# ---------------------------------------------------------------- the database


class Gradebook:
    """The results of gradings, keyed by what determines them, and who handed in what."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if self.path.is_dir():
            raise LmprepError(f"{self.path}: is a folder, not a gradebook database")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db, _ = store.connect(self.path)
            store.migrate(self.db, migrations, self.path)
            for table in ("results", "submissions"):
                if not self.db[table].exists():
                    raise sqlite3.DatabaseError(f"table {table} is missing")
        except sqlite3.DatabaseError as exc:
            raise LmprepError(f"{self.path}: not a readable lmprep gradebook ({exc})") from None

    def close(self) -> None:
        self.db.conn.close()

    def write(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return store.immediate(self.db.conn)

    def result(self, sha256: str, challenge_hash: str, version: str = __version__) -> dict | None:
        rows = list(
            self.db.query(
                "SELECT * FROM results WHERE sha256 = ? AND challenge_hash = ? AND lmprep_version = ?",
                [sha256, challenge_hash, version],
            )
        )
        return rows[0] if rows else None

    def done(self, challenge_hash: str, version: str = __version__) -> set[str]:
        """The sha256 of every submission with a final result (not an Internal Error)."""
        rows = self.db.query(
            "SELECT sha256 FROM results WHERE challenge_hash = ? AND lmprep_version = ? AND verdict != ?",
            [challenge_hash, version, Verdict.INTERNAL_ERROR.value],
        )
        return {row["sha256"] for row in rows}

    def add_submissions(self, slug: str, submissions: Iterable[Submission]) -> None:
        with self.write() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO submissions (challenge, student, file, sha256, seen_at) VALUES (?, ?, ?, ?, ?)",
                [(slug, s.student, s.file, s.sha256, now()) for s in submissions],
            )

    def add_result(self, sha256: str, challenge: Challenge, challenge_hash: str, report: Report) -> dict:
        row = {
            "sha256": sha256,
            "challenge_hash": challenge_hash,
            "lmprep_version": __version__,
            "challenge": challenge.slug,
            "verdict": report.verdict,
            "score": report.score,
            "max_score": report.max_score,
            "tests": json.dumps(
                [
                    {"name": t.name, "outcome": t.outcome, "points": t.points, "max_points": t.max_points}
                    for t in report.tests
                ]
            ),
            "message": report.message,
            "diagnosis": report.diagnosis,
            "duration_s": report.timings.get("wall_s", report.timings.get("total_s", 0.0)),
            "device": report.device,
            "graded_at": now(),
        }
        with self.write():
            self.db["results"].upsert(row, pk=("sha256", "challenge_hash", "lmprep_version"))
        return row

    def rows(self, slug: str, challenge_hash: str | None = None, version: str | None = None) -> list[dict]:
        """The gradebook: one row per submission of ``slug`` with its result (latest
        challenge version and lmprep when not given), students in order."""
        where, args = ["s.challenge = ?"], [slug]
        if challenge_hash:
            where.append("r.challenge_hash = ?")
            args.append(challenge_hash)
        if version:
            where.append("r.lmprep_version = ?")
            args.append(version)
        query = (
            "SELECT s.student, s.file, s.sha256, s.challenge, r.verdict, r.score, r.max_score, r.tests, r.message,"
            " r.diagnosis, r.duration_s, r.device, r.lmprep_version, r.challenge_hash, r.graded_at"
            " FROM submissions s JOIN results r ON r.sha256 = s.sha256 AND r.challenge = s.challenge"
            f" WHERE {' AND '.join(where)} ORDER BY s.student, s.file, r.graded_at"
        )
        return [_decoded(row) for row in self.db.query(query, args)]


def _decoded(row: dict) -> dict:
    row = dict(row)
    if isinstance(row.get("tests"), str):
        row["tests"] = json.loads(row["tests"] or "[]")
    return row


# ---------------------------------------------------------------- grading a class


@dataclass
class GradeRun:
    challenge: str
    challenge_hash: str
    rows: list[dict]  # this run's submissions (its shard), one row each
    graded: int  # gradings run now
    reused: int  # submissions whose result the gradebook already had
    identical: int  # submissions whose bytes another submission of this run also has
    wall_s: float
    gradebook: str

    def summary(self) -> dict:
        return summarise(self.rows) | {
            "challenge": self.challenge,
            "graded_now": self.graded,
            "from_gradebook": self.reused,
            "identical_files": self.identical,
            "wall_s": round(self.wall_s, 2),
            "gradebook": self.gradebook,
        }


def grade_class(
    paths: Iterable[str | Path],
    slug: str,
    gradebook: str | Path,
    *,
    jobs: int = 2,
    device: str = "auto",
    shard: tuple[int, int] | None = None,
    on_start: Callable[[int], None] | None = None,
    on_result: Callable[[dict], None] | None = None,
    warm: bool | None = None,
) -> GradeRun:
    """Grade every submission under ``paths`` to ``slug`` that the gradebook has no result
    for, ``jobs`` at a time; returns this run's rows (its shard's submissions)."""
    challenge = bank.get(slug)
    check_device(device)
    started = time.perf_counter()
    submissions = [s for s in collect(paths, workspace.SUFFIXES[challenge.kind]) if in_shard(s.sha256, shard)]
    book = Gradebook(gradebook)
    try:
        challenge_hash = challenge.content_hash()
        book.add_submissions(slug, submissions)
        done = book.done(challenge_hash)
        todo: dict[str, Submission] = {}
        for s in submissions:
            if s.sha256 not in done:
                todo.setdefault(s.sha256, s)
        if on_start:
            on_start(len(todo))
        _grade_all(book, challenge, challenge_hash, list(todo.values()), gradebook, jobs, device, on_result, warm)
        wanted = {(s.student, s.file, s.sha256) for s in submissions}
        rows = [
            r for r in book.rows(slug, challenge_hash, __version__) if (r["student"], r["file"], r["sha256"]) in wanted
        ]
    finally:
        book.close()
    counts = Counter(s.sha256 for s in submissions)
    return GradeRun(
        challenge=slug,
        challenge_hash=challenge_hash,
        rows=rows,
        graded=len(todo),
        reused=len(submissions) - sum(counts[sha] for sha in todo),
        identical=sum(n for n in counts.values() if n > 1),
        wall_s=time.perf_counter() - started,
        gradebook=str(gradebook),
    )


def _grade_all(book, challenge, challenge_hash, todo, gradebook, jobs, device, on_result, warm) -> None:
    """Grade ``todo``; each result is committed as it comes, by this thread alone (the
    database has one writer).

    Each submission is graded from a copy of the bytes that were hashed, written into a
    private folder just before its grading and checked after it: where the sandbox cannot
    hide the copies (no Landlock), a hostile classmate graded at the same time that
    rewrites one makes it graded again, never graded as someone else's code."""
    if not todo:
        return
    name = f"{challenge.slug.replace('-', '_')}{workspace.SUFFIXES[challenge.kind]}"
    gradebook = Path(gradebook).resolve()
    journals = (gradebook.with_name(gradebook.name + s) for s in ("-wal", "-shm", "-journal"))
    with tempfile.TemporaryDirectory(prefix="lmprep-class-") as snapshot:
        # what a submission must not read: the content, the gradebook, the other copies
        protected = [*hidden_paths(), gradebook, *journals, Path(snapshot).resolve()]

        def run(s: Submission) -> Report:
            folder = Path(tempfile.mkdtemp(dir=snapshot))
            file = folder / name
            try:
                for _ in range(3):
                    file.write_bytes(s.data)
                    report = grade(challenge.path, file, device=device, protected=protected, warm=warm)
                    if file.is_file() and hashlib.sha256(file.read_bytes()).hexdigest() == s.sha256:
                        break
                return report
            finally:
                shutil.rmtree(folder, ignore_errors=True)

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {pool.submit(run, s): s for s in todo}
            for future in as_completed(futures):
                s = futures[future]
                row = book.add_result(s.sha256, challenge, challenge_hash, future.result())
                if on_result:
                    on_result(row)


# ---------------------------------------------------------------- summaries and files


def summarise(rows: list[dict]) -> dict:
    """What the class got wrong: verdict counts, the tests failed most (with their share),
    scores."""
    verdicts = Counter(r["verdict"] for r in rows)
    failed: Counter = Counter()
    ran: Counter = Counter()
    for r in rows:
        for t in r["tests"]:
            if t["outcome"] == "skipped":
                continue
            ran[t["name"]] += 1
            if t["outcome"] != "passed":
                failed[t["name"]] += 1
    top = max((r["max_score"] or 0 for r in rows), default=0)  # a file that ran no test scores 0 of it
    scores = [(r["score"] or 0) / top for r in rows] if top else []
    return {
        "submissions": len(rows),
        "students": len({r["student"] for r in rows}),
        "verdicts": dict(verdicts.most_common()),
        "failed_most": [
            {"test": name, "failed": n, "of": ran[name], "share": round(n / ran[name], 3)}
            for name, n in sorted(failed.items(), key=lambda kv: (-kv[1] / ran[kv[0]], kv[0]))
        ],
        "median_score": round(statistics.median(scores), 3) if scores else None,
    }


def write(rows: list[dict], output: str | Path) -> Path:
    """The gradebook as ``.csv`` (tests as JSON in one column) or ``.json``; written to a
    temporary file first, so a killed run never leaves half a gradebook."""
    output = Path(output)
    if output.suffix not in (".csv", ".json"):
        raise LmprepError(f"{output}: a gradebook is written as .csv or .json")
    output.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{output.name}.", dir=output.parent)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
        if output.suffix == ".json":
            json.dump([{k: r.get(k) for k in (*COLUMNS, "conflict") if k in r} for r in rows], fh, indent=1)
        else:
            fields = [*COLUMNS, *(["conflict"] if any("conflict" in r for r in rows) else [])]
            out = csv.DictWriter(fh, fieldnames=fields, extrasaction="ignore")
            out.writeheader()
            for r in rows:
                out.writerow({**r, "tests": json.dumps(r["tests"])})
    shutil.move(tmp, output)
    return output


def read(path: str | Path) -> list[dict]:
    """The rows of an exported gradebook (.csv, .json) or of a gradebook database (.db)."""
    path = Path(path)
    if not path.is_file():
        raise LmprepError(f"{path}: no such file")
    try:
        if path.suffix == ".json":
            rows = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(rows, list):
                raise ValueError("not a list of rows")
        elif path.suffix == ".csv":
            with path.open(encoding="utf-8", newline="") as fh:
                rows = list(csv.DictReader(fh))
            for r in rows:
                r["tests"] = json.loads(r["tests"] or "[]")
                for key in ("score", "max_score", "duration_s"):
                    r[key] = float(r[key]) if r.get(key) not in (None, "") else None
        elif path.suffix != ".db":
            raise ValueError("a gradebook is a .csv, .json or .db file")
        else:
            book = Gradebook(path)
            try:
                slugs = [r["challenge"] for r in book.db.query("SELECT DISTINCT challenge FROM submissions")]
                rows = [row for slug in slugs for row in book.rows(slug)]
            finally:
                book.close()
        missing = [
            c for c in ("student", "file", "sha256", "challenge", "verdict", "score") if rows and c not in rows[0]
        ]
        if missing:
            raise ValueError(f"no column {', '.join(missing)}")
    except (ValueError, KeyError, TypeError) as exc:
        raise LmprepError(f"{path}: not an lmprep gradebook ({exc})") from None
    return [{k: v for k, v in r.items() if k != "conflict"} for r in rows]


def merge(parts: Iterable[str | Path]) -> tuple[list[dict], list[str]]:
    """Combine the gradebooks of several shards (or runs): one row per (challenge, student,
    file, sha256); a submission graded twice with the same outcome is reported once, one
    graded twice with different outcomes (or by different versions) is kept once and
    flagged in its ``conflict`` column. Returns (rows, conflicts described)."""
    merged: dict[tuple, dict] = {}
    conflicts: list[str] = []
    for part in parts:
        for row in read(part):
            key = (row["challenge"], row["student"], row["file"], row["sha256"])
            if key not in merged:
                merged[key] = dict(row, _from=str(part))
                continue
            first = merged[key]
            differs = [
                k
                for k in ("verdict", "score", "max_score", "challenge_hash", "lmprep_version")
                if str(first.get(k)) != str(row.get(k))
            ]
            if differs:
                what = "; ".join(f"{k} {first.get(k)} in {first['_from']} vs {row.get(k)} in {part}" for k in differs)
                first["conflict"] = what
                conflicts.append(f"{row['student']} ({row['file']}): {what}")
    rows = sorted(merged.values(), key=lambda r: (r["challenge"], r["student"], r["file"]))
    for r in rows:
        r.pop("_from")
    return rows, conflicts


# ---------------------------------------------------------------- what a class got wrong


def _failed(tests: list[dict]) -> frozenset[str]:
    return frozenset(t["name"] for t in tests if t["outcome"] not in ("passed", "skipped"))


def latest(rows: list[dict]) -> list[dict]:
    """One row per submission (challenge, student, file, sha256): its latest result."""
    found: dict[tuple, dict] = {}
    for r in sorted(rows, key=lambda r: r.get("graded_at") or ""):
        found[(r["challenge"], r["student"], r["file"], r["sha256"])] = r
    return list(found.values())


def class_stats(slug: str, gradebook: str | Path, *, mutants: bool = True, warm: bool | None = None) -> dict:
    """Verdicts, per-test failure rates and attempts per student for ``slug`` over a
    gradebook; with ``mutants``, each mutant of the challenge with the number of
    submissions that fail exactly the tests it fails (mutants are graded once and their
    results kept when the gradebook is a database)."""
    challenge = bank.get(slug)
    rows = latest([r for r in read(gradebook) if r["challenge"] == slug])
    if not rows:
        raise LmprepError(f"{gradebook}: no submission to {slug} in this gradebook")
    found = summarise(rows) | {"challenge": slug}
    per_student = Counter(r["student"] for r in rows)
    found["median_attempts"] = statistics.median(per_student.values())
    found["mutants"] = []
    if mutants and challenge.kind == "code" and challenge.mutants:
        failing = Counter(_failed(r["tests"]) for r in rows)
        for mutant, report in _mutant_reports(challenge, gradebook, warm):
            tests = [{"name": t.name, "outcome": t.outcome} for t in report.tests]
            found["mutants"].append(
                {
                    "name": mutant.stem,
                    "verdict": report.verdict,
                    "diagnosis": report.diagnosis,
                    "fails": sorted(_failed(tests)),
                    "matching": failing[_failed(tests)] if _failed(tests) else 0,
                }
            )
        found["mutants"].sort(key=lambda m: (-m["matching"], m["name"]))
    return found


def _mutant_reports(challenge: Challenge, gradebook: str | Path, warm: bool | None) -> list[tuple[Path, Report]]:
    """Each mutant's Report, from the gradebook database where it holds one."""
    book = Gradebook(gradebook) if Path(gradebook).suffix not in (".csv", ".json") else None
    challenge_hash = challenge.content_hash()
    found, todo = [], []
    try:
        for mutant in challenge.mutants:
            sha = hashlib.sha256(mutant.read_bytes()).hexdigest()
            kept = book.result(sha, challenge_hash) if book else None
            if kept is not None and kept["verdict"] != Verdict.INTERNAL_ERROR.value:
                tests = [{"id": t["name"], "duration_s": 0.0, "message": "", **t} for t in json.loads(kept["tests"])]
                report = Report.from_dict(
                    {
                        "verdict": kept["verdict"],
                        "challenge": challenge.slug,
                        "tests": tests,
                        "diagnosis": kept["diagnosis"],
                    }
                )
                found.append((mutant, report))
            else:
                todo.append((mutant, sha))
        with ThreadPoolExecutor(max_workers=2) as pool:
            reports = list(pool.map(lambda m: grade(challenge.path, m[0], protected=hidden_paths(), warm=warm), todo))
        for (mutant, sha), report in zip(todo, reports):
            if book:
                book.add_result(sha, challenge, challenge_hash, report)
            found.append((mutant, report))
    finally:
        if book:
            book.close()
    return found
