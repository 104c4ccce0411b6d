"""Spaced review: cards rated and scheduled from the recorded history, with a fixed clock.

The store-level tests write attempts and events with chosen times; the CLI tests fix the
clock with LMPREP_NOW and grade with a stand-in (the code challenge) or the real quiz grader.
"""

import datetime as dt
import json
import re
import shutil
import sqlite3

import pytest
from click.testing import CliRunner

from grader import Report
from lmprep import review
from lmprep.cli import cli
from lmprep.store import ProgressStore
from tests.conftest import DATA

UTC = dt.timezone.utc
DAY0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # toy-sum: est_minutes 20 (the default): Easy under 10 minutes
QUIZ_KEY = {"pick": "b", "many": ["a", "b"], "h": 1.0, "steps": ["b", "a", "c"], "name": "perplexity", "sym": False}


@pytest.fixture(autouse=True)
def bank(toy_bank):
    return toy_bank


@pytest.fixture
def store(tmp_path):
    s = ProgressStore(tmp_path / "p.db")
    yield s
    s.close()


def at(minutes: float = 0, days: float = 0) -> dt.datetime:
    return DAY0 + dt.timedelta(minutes=minutes, days=days)


def event(store, slug, kind, when, detail=""):
    store.db["events"].insert({"slug": slug, "kind": kind, "detail": detail, "created_at": when.isoformat()})


def attempt(store, slug, verdict, when, tests=()):
    store.db["attempts"].insert(
        {
            "slug": slug,
            "created_at": when.isoformat(),
            "finished_at": when.isoformat(),
            "status": "done",
            "verdict": verdict,
            "tests": json.dumps(list(tests)),
        }
    )


def only_card(store, now):
    (card,) = review.cards(store, now)
    return card


# ---------------------------------------------------------------- ratings


@pytest.mark.parametrize(
    ("history", "rating"),
    [
        ([("start", 0), ("Accepted", 30)], "good"),
        ([("start", 0), ("Accepted", 5)], "easy"),
        ([("start", 0), ("Accepted", 10)], "good"),  # half of est_minutes exactly: not well under
        ([("start", 0), ("Wrong Answer", 2), ("Accepted", 5)], "hard"),
        ([("start", 0), ("Syntax Error", 2), ("Accepted", 30)], "hard"),
        ([("start", 0), ("hint", 1), ("Accepted", 5)], "hard"),
        ([("start", 0), ("solution", 1, "before solving"), ("Accepted", 5)], "again"),
        ([("start", 0), ("Internal Error", 2), ("Accepted", 5)], "easy"),  # a grader fault never counts
        ([("Accepted", 5)], "good"),  # no start recorded: its time is unknown, never Easy
        ([("start", 0), ("Accepted", 30), ("solution", 40, "after solving")], "good"),  # reading, not forgetting
    ],
)
def test_the_attempt_that_solves_a_challenge_rates_its_card(store, history, rating):
    for kind, minutes, *detail in history:
        if kind in ("start", "hint", "solution"):
            event(store, "toy-sum", kind, at(minutes), *detail)
        else:
            attempt(store, "toy-sum", kind, at(minutes))
    card = only_card(store, at(days=1))
    assert (card.key, card.slug, card.question, card.last_rating, card.reps) == ("toy-sum", "toy-sum", None, rating, 1)
    assert card.last_review == at(max(m for k, m, *_ in history if k == "Accepted"))


def test_no_card_before_the_challenge_is_solved(store):
    event(store, "toy-sum", "start", at(0))
    attempt(store, "toy-sum", "Wrong Answer", at(3))
    assert review.cards(store, at(days=1)) == []


def test_first_ratings_schedule_as_fsrs_does(store):
    """Days from the solve to the first review, by rating (FSRS's default parameters)."""
    intervals = {}
    for slug, history in {
        "toy-sum": [("start", 0), ("Accepted", 5)],
        "toy-tensor": [("start", 0), ("Wrong Answer", 1), ("Accepted", 30)],
    }.items():
        for kind, minutes in history:
            (event if kind == "start" else attempt)(store, slug, kind, at(minutes))
    for card in review.cards(store, at(days=1)):
        intervals[card.key] = (card.last_rating, card.interval_days, card.state)
    assert intervals == {"toy-sum": ("easy", 8, "review"), "toy-tensor": ("hard", 1, "review")}


def test_the_schedule_is_what_history_up_to_now_implies(store):
    event(store, "toy-sum", "start", at(0))
    attempt(store, "toy-sum", "Accepted", at(30))
    assert review.cards(store, at(20)) == []
    assert only_card(store, at(31)).reps == 1


def test_submitting_a_solved_challenge_again_outside_a_review_rates_nothing(store):
    event(store, "toy-sum", "start", at(0))
    attempt(store, "toy-sum", "Accepted", at(30))
    before = only_card(store, at(31))
    attempt(store, "toy-sum", "Wrong Answer", at(days=3))
    attempt(store, "toy-sum", "Accepted", at(days=3, minutes=1))
    assert only_card(store, at(days=4)) == before


def test_a_review_is_rated_at_its_accepted(store):
    event(store, "toy-sum", "start", at(0))
    attempt(store, "toy-sum", "Accepted", at(30))  # good: due 2 days later
    event(store, "toy-sum", "review", at(days=3), '{"kind": "code"}')
    attempt(store, "toy-sum", "Accepted", at(days=3, minutes=4))
    card = only_card(store, at(days=4))
    assert (card.reps, card.last_rating, card.lapses) == (2, "easy", 0)
    assert card.interval_days > 8
    event(store, "toy-sum", "review", at(days=30), '{"kind": "code"}')
    event(store, "toy-sum", "hint", at(days=30, minutes=1))
    attempt(store, "toy-sum", "Accepted", at(days=30, minutes=2))
    hard = only_card(store, at(days=31))
    assert hard.last_rating == "hard"
    # the solution viewed during a review (the challenge is solved: "after solving") is a lapse
    event(store, "toy-sum", "review", at(days=90), '{"kind": "code"}')
    event(store, "toy-sum", "solution", at(days=90, minutes=1), "after solving")
    attempt(store, "toy-sum", "Accepted", at(days=90, minutes=2))
    card = only_card(store, at(days=91))
    assert (card.reps, card.last_rating, card.lapses) == (4, "again", 1)
    assert card.interval_days < hard.interval_days / 4  # a lapse: back to days (FSRS keeps some stability)


def test_a_reset_restarts_the_card(store):
    event(store, "toy-sum", "start", at(0))
    attempt(store, "toy-sum", "Accepted", at(30))
    event(store, "toy-sum", "review", at(days=3), '{"kind": "code"}')
    attempt(store, "toy-sum", "Accepted", at(days=3, minutes=30))
    assert only_card(store, at(days=4)).reps == 2
    event(store, "toy-sum", "reset", at(days=5))
    assert review.cards(store, at(days=5, minutes=1)) == []
    event(store, "toy-sum", "start", at(days=6))
    attempt(store, "toy-sum", "Accepted", at(days=6, minutes=3))
    card = only_card(store, at(days=7))
    assert (card.reps, card.last_rating, card.last_review) == (1, "easy", at(days=6, minutes=3))


def test_a_restored_database_gives_the_same_cards(store, tmp_path):
    event(store, "toy-sum", "start", at(0))
    attempt(store, "toy-sum", "Wrong Answer", at(5))
    attempt(store, "toy-sum", "Accepted", at(12))
    event(store, "toy-sum", "review", at(days=2), '{"kind": "code"}')
    attempt(store, "toy-sum", "Accepted", at(days=2, minutes=3))
    event(store, "toy-tensor", "start", at(days=2, minutes=10))
    attempt(store, "toy-tensor", "Accepted", at(days=2, minutes=40))
    now = at(days=40)
    before = review.cards(store, now)
    assert [c.key for c in before] == ["toy-tensor", "toy-sum"]  # by due date
    backup = tmp_path / "backup.db"
    with sqlite3.connect(backup) as target:
        store.db.conn.backup(target)
    target.close()
    store.close()
    for path in tmp_path.glob("p.db*"):
        path.unlink()  # the database is lost ...
    shutil.copy(backup, tmp_path / "p.db")  # ... and restored from the backup
    restored = ProgressStore(tmp_path / "p.db")
    assert review.cards(restored, now) == before
    restored.close()


# ---------------------------------------------------------------- quiz questions


def quiz_tests(**outcomes):
    """Report tests as grader.quiz writes them: passed, wrong, or left blank."""
    messages = {
        "passed": "Correct. Answer: x.",
        "wrong": "Your answer: y. Answer: x.",
        "blank": "Not answered. Answer: x.",
    }
    return [
        {"id": qid, "outcome": "passed" if how == "passed" else "wrong_answer", "message": messages[how]}
        for qid, how in outcomes.items()
    ]


def test_each_answered_quiz_question_is_a_card_rated_by_its_correctness(store, monkeypatch):
    monkeypatch.setenv("LMPREP_CHALLENGES", str(DATA / "quizzes"))
    attempt(store, "toy-quiz", "Wrong Answer", at(0), quiz_tests(pick="passed", many="wrong", h="blank"))
    cards = {c.key: c for c in review.cards(store, at(days=1))}
    assert set(cards) == {"toy-quiz#pick", "toy-quiz#many"}  # a blank answer is no card
    assert (cards["toy-quiz#pick"].last_rating, cards["toy-quiz#many"].last_rating) == ("good", "again")
    assert cards["toy-quiz#pick"].question == "Which is a divergence?" and cards["toy-quiz#pick"].slug == "toy-quiz"
    attempt(store, "toy-quiz", "Internal Error", at(days=1), quiz_tests(many="passed"))  # never counted
    attempt(store, "toy-quiz", "Accepted", at(days=2), quiz_tests(pick="passed", many="passed", h="passed"))
    cards = {c.key: c for c in review.cards(store, at(days=3))}
    assert {k: (c.reps, c.last_rating) for k, c in cards.items()} == {
        "toy-quiz#pick": (2, "good"),
        "toy-quiz#many": (2, "good"),
        "toy-quiz#h": (1, "good"),
    }


# ---------------------------------------------------------------- due, forecast, streak


def solved(store, slug, day, minutes=30):
    event(store, slug, "start", at(days=day))
    attempt(store, slug, "Accepted", at(days=day, minutes=minutes))


def test_due_lists_the_most_overdue_first_and_forecast_buckets_by_day(store):
    solved(store, "toy-sum", 0)  # good: due day 2
    solved(store, "toy-tensor", 1, minutes=5)  # easy: due day 9
    assert review.due(store, at(days=1)) == []
    assert [c.key for c in review.due(store, at(days=20))] == ["toy-sum", "toy-tensor"]
    days = review.forecast(store, at(days=5), days=7)
    assert [d for d, _ in days] == [(DAY0 + dt.timedelta(days=5 + n)).date() for n in range(7)]
    assert {d: [c.key for c in cs] for d, cs in days if cs} == {
        at(days=5).date(): ["toy-sum"],  # overdue: counts today
        at(days=9).date(): ["toy-tensor"],
    }
    assert all(not cs for _, cs in review.forecast(store, at(days=5), days=3)[1:])  # day 9 is beyond 3 days


def test_streak_counts_days_in_a_row_with_a_counted_attempt(store):
    for day in (0, 2, 3, 4):
        attempt(store, "toy-sum", "Wrong Answer", at(days=day))
    attempt(store, "toy-sum", "Internal Error", at(days=5))  # not the learner's: no streak
    assert review.streak(store, at(days=4).date()) == 3
    assert review.streak(store, at(days=5).date()) == 3  # nothing yet today: up to yesterday
    assert review.streak(store, at(days=6).date()) == 0
    assert review.streak(store, at(days=0).date()) == 1


# ---------------------------------------------------------------- the commands


def run(*args, input=None):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, input=input)


def workspace(name="toy_sum.py"):
    from lmprep import paths

    return paths.workspace() / name


@pytest.fixture
def clock(monkeypatch):
    """Set the time lmprep records and schedules by."""

    def set_(when: dt.datetime) -> None:
        monkeypatch.setenv("LMPREP_NOW", when.isoformat())

    return set_


@pytest.fixture
def graded(monkeypatch):
    """Code gradings stand in by the verdicts the test queues (quizzes grade for real)."""
    from lmprep import grading

    verdicts: list[str] = []
    real = grading.grade_file

    def grade_file(path, slug, device="auto", public_only=False, db=None):
        if slug == "toy-quiz":
            return real(path, slug, device, public_only, db)
        verdict = verdicts.pop(0)
        return Report(verdict=verdict, challenge=slug, score=8.0 if verdict == "Accepted" else 0.0, max_score=8.0)

    monkeypatch.setattr(grading, "grade_file", grade_file)
    return verdicts


def solve_toy_sum(clock, graded):
    clock(at(0))
    run("next")
    workspace().write_text("# lmprep: toy-sum\n# my first solution\n")
    clock(at(30))
    graded.append("Accepted")
    assert run("submit").exit_code == 0  # good: due 2 days later


def test_next_offers_a_due_review_before_new_material_and_keeps_the_previous_file(clock, graded):
    solve_toy_sum(clock, graded)
    clock(at(days=1))
    assert "Scale a tensor" in run("next").output  # nothing due yet: new material (toy-tensor)
    clock(at(days=3))
    result = run("next")
    assert result.exit_code == 0
    kept = workspace("toy_sum.solved-20260108-090000.py")
    assert result.output == (
        "Review: toy-sum (Sum a list)\n"
        "Due since 2026-01-07 09:30 UTC (last done 2026-01-05 09:30, rated good).\n"
        "Write it again from the stub, without looking at your old file.\n"
        f"\nYour previous file is kept at {kept}\n"
        f"Wrote a fresh stub to {workspace()}\n"
        "Edit it, then: lmprep test  /  lmprep submit  (Accepted rates the review)\n"
    )
    assert kept.read_text() == "# lmprep: toy-sum\n# my first solution\n"
    assert "raise NotImplementedError" in workspace().read_text()
    # under way: next resumes it, never a second fresh stub over the learner's work
    workspace().write_text("# lmprep: toy-sum\n# the review, half done\n")
    clock(at(days=3, minutes=5))
    again = run("next")
    assert again.output.startswith("Review: toy-sum (Sum a list), under way\n")
    assert workspace().read_text() == "# lmprep: toy-sum\n# the review, half done\n"
    assert sorted(p.name for p in workspace().parent.iterdir()) == ["toy_sum.py", kept.name, "toy_tensor.py"]
    # --new skips reviews: the challenge in progress
    assert "Scale a tensor" in run("next", "--new").output
    statuses = {r["slug"]: r["status"] for r in json.loads(run("list", "--json").output)}
    assert statuses == {"toy-sum": "solved", "toy-tensor": "in progress"}  # a review does not unsolve


def test_submit_during_a_review_grades_it_and_rates_the_card(clock, graded):
    solve_toy_sum(clock, graded)
    clock(at(days=3))
    assert run("review", "toy-sum").exit_code == 0
    clock(at(days=3, minutes=2))
    graded.append("Wrong Answer")
    assert run("submit").exit_code == 10  # no argument: the review is the current challenge
    clock(at(days=3, minutes=6))
    graded.append("Accepted")
    result = run("submit")
    assert result.exit_code == 0
    # the submit says how it rated the card and when the next review is
    assert "Spaced review: rated hard; next review " in result.output and "(in " in result.output
    found = json.loads(run("review", "--json").output)
    assert found["due"] == []
    (card,) = found["upcoming"]
    assert (card["key"], card["reps"], card["last_rating"]) == ("toy-sum", 2, "hard")
    assert card["last_review"] == "2026-01-08T09:06:00+00:00"
    assert run("submit").output.startswith("Error: no challenge in progress")  # the review is over
    assert json.loads(run("progress", "--json").output)["solved"] == 1


def test_review_lists_what_is_due_and_what_comes_next(clock, graded):
    clock(at(0))
    assert run("review").output == (
        "Nothing is due for review now.\n"
        "No review cards yet: each solved challenge and answered quiz question becomes one.\n"
        "\nStreak: 0 days in a row with an attempt. (Times in UTC.)\n"
    )
    solve_toy_sum(clock, graded)
    clock(at(days=2, minutes=40))
    assert run("review").output == (
        "1 review due now, most overdue first:\n"
        "  toy-sum                             due since 2026-01-07 09:30  last rated good   interval 2 d\n"
        "\nStart the first: lmprep next  (or one of them: lmprep review toy-sum)\n"
        "\nStreak: 0 days in a row with an attempt. (Times in UTC.)\n"
    )
    data = json.loads(run("review", "--json").output)
    assert data["now"] == "2026-01-07T09:40:00+00:00" and data["streak"] == 0 and data["upcoming"] == []
    assert data["due"] == [
        {
            "key": "toy-sum",
            "slug": "toy-sum",
            "question": None,
            "due": "2026-01-07T09:30:00+00:00",
            "state": "review",
            "stability": data["due"][0]["stability"],
            "difficulty": data["due"][0]["difficulty"],
            "reps": 1,
            "lapses": 0,
            "last_rating": "good",
            "last_review": "2026-01-05T09:30:00+00:00",
            "interval_days": 2,
        }
    ]


def test_review_of_what_is_not_solved_says_so():
    result = CliRunner().invoke(cli, ["review", "toy-tensor"])
    assert result.exit_code == 1
    assert (
        result.output
        == "Error: toy-tensor is not solved yet: nothing to review (start it with `lmprep start toy-tensor`)\n"
    )


def test_progress_shows_the_reviews_due_and_the_streak(clock, graded):
    solve_toy_sum(clock, graded)
    lines = run("progress").output.splitlines()
    assert lines[:2] == [
        "Solved 1 of 2 challenges; 1 attempt, 0 hints used.",
        "Reviews: none due; next one 2026-01-07 09:30 UTC. Streak: 1 day.",
    ]
    clock(at(days=3))
    assert run("progress").output.splitlines()[1] == "Reviews: 1 due now (lmprep review). Streak: 0 days."
    assert json.loads(run("progress", "--json").output)["reviews"] == {"due": 1, "next_due": None, "streak": 0}


def test_a_quiz_review_asks_the_questions_due_and_keeps_the_other_answers(clock, graded, monkeypatch):
    from lmprep import paths

    monkeypatch.setenv("LMPREP_CHALLENGES", str(DATA / "quizzes"))
    clock(at(0))
    run("next")
    sheet = paths.workspace() / "toy_quiz.toml"
    answers = {**QUIZ_KEY, "many": ["a"], "sym": True}  # two wrong: Again, due the next day
    text = sheet.read_text()
    for qid, value in answers.items():
        text = text.replace(f'{qid} = ""', f"{qid} = {json.dumps(value).lower()}")
    sheet.write_text(text)
    clock(at(5))
    assert run("submit").exit_code == 10
    clock(at(days=1, minutes=10))
    due = json.loads(run("review", "--json").output)["due"]
    assert [c["key"] for c in due] == ["toy-quiz#many", "toy-quiz#sym"]
    result = run("next")
    assert result.output.startswith(
        "Review: toy-quiz (Toy quiz)\n"
        "Due since 2026-01-06 09:05 UTC (last done 2026-01-05 09:05, rated again).\n"
        "Answer the 2 questions due again.\n"
    )
    kept = paths.workspace() / "toy_quiz.answered-20260106-091000.toml"
    assert kept.read_text() == text
    fresh = sheet.read_text()
    # the questions due are blank; the others hold the last sheet's answers, so it is graded whole
    assert dict(re.findall(r"^(\w+) = (.*)$", fresh, re.M)) == {
        "pick": '"b"',
        "many": '""',
        "h": "1.0",
        "steps": '["b", "a", "c"]',
        "name": '"perplexity"',
        "sym": '""',
    }
    assert "A review: the questions due are blank" in fresh
    sheet.write_text(fresh.replace('many = ""', 'many = ["a", "b"]').replace('sym = ""', "sym = false"))
    clock(at(days=1, minutes=15))
    result = run("submit")
    assert result.exit_code == 0 and result.output.startswith("Accepted")  # the review right: the sheet right
    assert "Spaced review: 2 questions rated (2 good)" in result.output  # the kept answers rate nothing
    cards = {c["key"]: c for c in json.loads(run("review", "--json").output)["upcoming"]}
    assert {k: (c["reps"], c["last_rating"]) for k, c in cards.items()} == {
        "toy-quiz#pick": (1, "good"),
        "toy-quiz#h": (1, "good"),
        "toy-quiz#steps": (1, "good"),
        "toy-quiz#name": (1, "good"),
        "toy-quiz#many": (2, "good"),
        "toy-quiz#sym": (2, "good"),
    }


def test_review_and_next_new_help_have_examples():
    assert "Example: lmprep review kv-cache" in run("review", "--help").output
    assert "--new" in run("next", "--help").output


def test_next_json_says_it_is_a_review(clock, graded):
    solve_toy_sum(clock, graded)
    clock(at(days=3))
    data = json.loads(run("next", "--json").output)
    assert data["slug"] == "toy-sum" and data["created"] is True
    review_ = data["review"]
    assert (review_["due"], review_["overdue"], review_["last_rating"], review_["resumed"]) == (
        "2026-01-07T09:30:00+00:00",
        True,
        "good",
        False,
    )
    assert review_["kept"].endswith("toy_sum.solved-20260108-090000.py")


def test_skip_ends_a_review_unrated_and_next_new_moves_on(clock, graded):
    solve_toy_sum(clock, graded)
    clock(at(days=3))
    run("review", "toy-sum")
    assert run("skip").output == "Skipped toy-sum. `lmprep start toy-sum` brings it back.\n"
    assert run("submit").output.startswith("Error: no challenge in progress")
    assert json.loads(run("review", "--json").output)["due"][0]["reps"] == 1  # still due, unrated
    assert "Scale a tensor" in run("next", "--new").output


def test_an_early_review_says_so(clock, graded):
    solve_toy_sum(clock, graded)
    clock(at(days=1))
    result = run("review", "toy-sum")
    assert result.output.startswith(
        "Review: toy-sum (Sum a list)\n"
        "An early review: not due until 2026-01-07 09:30 UTC (last done 2026-01-05 09:30, rated good).\n"
    )
    clock(at(days=1, minutes=3))
    graded.append("Accepted")
    run("submit")
    card = json.loads(run("review", "--json").output)["upcoming"][0]
    assert (card["reps"], card["last_rating"], card["last_review"]) == (2, "easy", "2026-01-06T09:03:00+00:00")


def test_a_clock_that_is_not_a_time_is_one_line(monkeypatch):
    monkeypatch.setenv("LMPREP_NOW", "tomorrow")
    result = CliRunner().invoke(cli, ["review"])
    assert result.exit_code == 1
    assert result.output == "Error: LMPREP_NOW='tomorrow': not an ISO 8601 time (e.g. 2026-01-31T09:00:00+00:00)\n"
