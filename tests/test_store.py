"""The progress store: migrations, concurrency, corruption, derived progress."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from grader import Report, Verdict
from lmprep.store import ProgressStore, StoreError, migrations, move_aside
from tests.conftest import HOSTILE, ROOT, TOY_CHALLENGES


def test_migrations_create_the_schema_once(tmp_path):
    store = ProgressStore(tmp_path / "p.db")
    assert {"attempts", "events", "_sqlite_migrations"} <= set(store.db.table_names())
    assert [m.name for m in migrations.applied(store.db)] == ["m001_initial"]
    store.close()
    again = ProgressStore(tmp_path / "p.db")
    assert [m.name for m in migrations.applied(again.db)] == ["m001_initial"]
    assert migrations.pending(again.db) == []


def test_wal_on_a_local_disk(tmp_path):
    assert ProgressStore(tmp_path / "p.db").journal_mode == "wal"


OPEN_STORE = "import sys; from lmprep.store import ProgressStore; ProgressStore(sys.argv[1]).add_event('x', 'start')"


def test_concurrent_first_runs_do_not_race(tmp_path):
    db = tmp_path / "race.db"
    procs = [subprocess.Popen([sys.executable, "-c", OPEN_STORE, str(db)], stderr=subprocess.PIPE) for _ in range(8)]
    errors = [p.communicate()[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, errors
    store = ProgressStore(db)
    assert len(migrations.applied(store.db)) == 1
    assert len(store.events(kind="start")) == 8


def test_corrupt_database_is_reported_never_replaced(tmp_path):
    db = tmp_path / "lmprep.db"
    db.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError) as info:
        ProgressStore(db)
    assert str(info.value) == (
        f"{db}: not a readable lmprep database (file is not a database); "
        "run `lmprep where --move-aside` to keep it as a backup and start afresh"
    )
    assert db.read_bytes().startswith(b"this is not sqlite")
    backup = move_aside(db)
    assert backup.read_bytes().startswith(b"this is not sqlite") and not db.exists()
    ProgressStore(db).add_event("x", "start")


def test_progress_is_derived_and_reset_clears_it(tmp_path):
    store = ProgressStore(tmp_path / "p.db")
    store.add_event("a", "start")
    store.add_event("a", "hint", "1")
    assert store.current() == "a"
    assert store.progress()["a"].status == "in progress" and store.progress()["a"].hints == 1
    store.add_event("a", "reset")
    state = store.progress()["a"]
    assert (state.hints, state.started, state.status) == (0, False, "new")
    store.add_event("b", "start")
    store.add_event("b", "skip")
    assert store.progress()["b"].status == "skipped" and store.current() is None


def _record(store, slug, verdict, score):
    attempt = store.begin_attempt(slug, "f.py", f"# {verdict}", "cpu", "hash")
    report = Report(verdict=verdict, challenge=slug, score=score, max_score=8.0, message=f"{verdict} message")
    store.finish_attempt(attempt, report)


def test_internal_errors_are_kept_but_never_counted_as_the_learners(tmp_path):
    store = ProgressStore(tmp_path / "p.db")
    for verdict, score in [("Internal Error", 8), ("Wrong Answer", 6), ("Accepted", 8), ("Internal Error", 8)]:
        _record(store, "a", verdict, score)
    state = store.progress()["a"]
    assert (state.attempts, state.grader_errors) == (2, 2)
    assert (state.last_verdict, state.solved, state.best_score, state.status) == ("Accepted", True, 8.0, "solved")
    kept = [(a["verdict"], a["code"], a["message"]) for a in store.attempts("a")]
    assert kept[0] == ("Internal Error", "# Internal Error", "Internal Error message") and len(kept) == 4


def test_an_internal_error_sets_no_verdict_or_score(tmp_path):
    store = ProgressStore(tmp_path / "p.db")
    _record(store, "a", "Wrong Answer", 3)
    _record(store, "a", Verdict.INTERNAL_ERROR.value, 5)
    state = store.progress()["a"]
    assert (state.attempts, state.last_verdict, state.best_score) == (1, "Wrong Answer", 3.0)


def test_grader_errors_alone_do_not_start_a_challenge(tmp_path):
    store = ProgressStore(tmp_path / "p.db")
    _record(store, "a", "Internal Error", 0)
    state = store.progress()["a"]
    assert (state.attempts, state.grader_errors, state.last_verdict, state.status) == (0, 1, "", "new")
    assert store.current() is None
    store.add_event("a", "start")
    assert store.progress()["a"].status == "in progress" and store.current() == "a"


def test_an_interrupted_attempt_still_counts(tmp_path):
    store = ProgressStore(tmp_path / "p.db")
    attempt = store.begin_attempt("a", "f.py", "code", "cpu", "hash")
    store.db.conn.execute("UPDATE attempts SET pid = 0 WHERE id = ?", (attempt,))  # its process is gone
    state = store.progress()["a"]
    assert (state.attempts, state.grader_errors, state.last_verdict) == (1, 0, "interrupted")


def test_unknown_event_kind_is_refused(tmp_path):
    with pytest.raises(ValueError):
        ProgressStore(tmp_path / "p.db").add_event("a", "teleport")


def _env(tmp_path):
    return {
        **os.environ,
        "LMPREP_HOME": str(tmp_path / "home"),
        "LMPREP_WORKSPACE": str(tmp_path / "ws"),
        "LMPREP_CHALLENGES": str(TOY_CHALLENGES),
        "PYTHONPATH": str(ROOT),
    }


def test_eight_concurrent_submits_lose_no_attempt(tmp_path):
    env = _env(tmp_path)
    reference = TOY_CHALLENGES / "toy-sum" / "reference.py"
    cmd = [sys.executable, "-m", "lmprep", "submit", str(reference), "-c", "toy-sum"]

    def run(_):
        return subprocess.run(cmd, env=env, capture_output=True, text=True)

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(run, range(8)))
    assert [r.returncode for r in results] == [0] * 8, [r.stderr for r in results]
    store = ProgressStore(tmp_path / "home" / "lmprep.db")
    attempts = store.attempts("toy-sum")
    assert len(attempts) == 8
    assert {a["status"] for a in attempts} == {"done"} and {a["verdict"] for a in attempts} == {"Accepted"}


def test_killed_submit_leaves_a_readable_database_and_an_interrupted_attempt(tmp_path):
    env = _env(tmp_path)
    slow = HOSTILE / "busy_loop_in_call.py"
    proc = subprocess.Popen(
        [sys.executable, "-m", "lmprep", "submit", str(slow), "-c", "toy-sum"], env=env, start_new_session=True
    )
    db = tmp_path / "home" / "lmprep.db"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if db.exists() and ProgressStore(db).attempts():
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    (attempt,) = ProgressStore(db).attempts()
    assert attempt["status"] == "interrupted" and attempt["code"] == slow.read_text()


class _NoWAL(sqlite3.Connection):
    """A connection as on a file system without shared memory (NFS, some FUSE mounts):
    SQLite refuses WAL there with 'disk I/O error'."""

    def execute(self, sql, *args):
        if sql.replace(" ", "").upper() == "PRAGMAJOURNAL_MODE=WAL":
            raise sqlite3.OperationalError("disk I/O error")
        return super().execute(sql, *args)


def test_a_file_system_without_wal_falls_back_to_the_rollback_journal(tmp_path, monkeypatch):
    connect = sqlite3.connect
    monkeypatch.setattr(sqlite3, "connect", lambda *a, **k: connect(*a, factory=_NoWAL, **k))
    store = ProgressStore(tmp_path / "nowal.db")
    assert store.journal_mode == "delete"
    attempt = store.begin_attempt("toy-sum", "f.py", "code", "cpu", "hash")
    store.add_event("toy-sum", "hint", "1")
    assert [a["id"] for a in store.attempts()] == [attempt]
    assert store.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert not (tmp_path / "nowal.db-wal").exists()
