"""Quizzes: questions.toml, answer sheets, grading, and the quiz commands."""

import json
import shutil

import pytest
from click.testing import CliRunner

from grader import quiz
from grader.challenge import ChallengeError
from lmprep.cli import cli
from tests.conftest import DATA

TOY = DATA / "quizzes" / "toy-quiz"
KEY = {"pick": "b", "many": ["a", "b"], "h": 1.0, "steps": ["b", "a", "c"], "name": "perplexity", "sym": False}


@pytest.fixture
def quiz_bank(monkeypatch):
    monkeypatch.setenv("LMPREP_CHALLENGES", str(DATA / "quizzes"))


def run(*args, input=None):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, input=input)


def sheet(tmp_path, text):
    path = tmp_path / "answers.toml"
    path.write_text(text)
    return path


# ---------------------------------------------------------------- questions.toml


def test_questions_load_with_canonical_keys():
    questions = quiz.load_questions(TOY)
    assert [q.id for q in questions] == list(KEY)
    assert [q.type for q in questions] == list(quiz.TYPES)
    assert quiz.key(questions) == {**KEY, "name": "perplexity"}
    assert questions[3].labels == "abc" and questions[2].units == "bits"


BROKEN = [  # (text in the good file, its replacement, the error after the file's path)
    (
        'type = "single"',
        'type = "essay"',
        "question 'pick': type: must be one of single, multiple, numeric, ordering, short, truefalse",
    ),
    ('answer = "b"', 'answer = "z"', "question 'pick': answer: expected one letter, e.g. \"b\""),
    (
        'answer = ["b", "a", "c"]',
        'answer = ["b", "a"]',
        'question \'steps\': answer: expected a list of every letter once, in order, e.g. ["c", "a", "b"]',
    ),
    ('units = "bits"\n', "", "question 'h': units: missing"),
    ("tolerance = 0.01", "tolerance = 0", "question 'h': a numeric question needs tolerance > 0 and its units"),
    ('id = "many"', 'id = "pick"', "question 2: id 'pick' is used twice"),
    (
        'explanation = "H = 1 bit."',
        'explanation = "H = 1 bit."\nhint = "x"',
        "question 'h': hint: unknown field for a numeric question",
    ),
    ('explanation = "KL is a divergence."\n', "", "question 'pick': explanation: missing"),
]


@pytest.mark.parametrize("old,new,error", BROKEN, ids=[b[2][:40] for b in BROKEN])
def test_a_broken_questions_file_names_the_question_and_field(tmp_path, old, new, error):
    folder = tmp_path / "toy-quiz"
    shutil.copytree(TOY, folder)
    text = (folder / "questions.toml").read_text()
    assert old in text
    (folder / "questions.toml").write_text(text.replace(old, new, 1))
    with pytest.raises(ChallengeError) as info:
        quiz.load_questions(folder)
    assert str(info.value) == f"{folder / 'questions.toml'}: {error}"


# ---------------------------------------------------------------- answers


@pytest.mark.parametrize(
    "qid,value,canonical",
    [
        ("pick", "B", "b"),
        ("many", ["b", "a"], ["a", "b"]),
        ("many", "b, a", ["a", "b"]),
        ("h", 1, 1.0),
        ("h", " 0.995 ", 0.995),
        ("steps", "b a c", ["b", "a", "c"]),
        ("name", "  Perplexity. ", "perplexity"),
        ("sym", "F", False),
        ("sym", "", None),
    ],
)
def test_answers_are_read_into_canonical_form(qid, value, canonical):
    (q,) = [q for q in quiz.load_questions(TOY) if q.id == qid]
    assert q.read(value) == canonical


@pytest.mark.parametrize(
    "qid,value,error",
    [
        ("pick", "d", 'pick (single): expected one letter, e.g. "b"; got "d"'),
        (
            "many",
            ["a", "a"],
            'many (multiple): expected a list of every correct letter, e.g. ["a", "c"]; got ["a", "a"]',
        ),
        ("h", "one", 'h (numeric): expected a number, in bits; got "one"'),
        ("h", True, "h (numeric): expected a number, in bits; got true"),
        (
            "steps",
            ["a", "b"],
            'steps (ordering): expected a list of every letter once, in order, e.g. ["c", "a", "b"]; got ["a", "b"]',
        ),
        ("sym", 1, "sym (truefalse): expected true or false (no quotes); got 1"),
    ],
)
def test_a_malformed_answer_names_the_question_and_what_was_expected(qid, value, error):
    (q,) = [q for q in quiz.load_questions(TOY) if q.id == qid]
    with pytest.raises(quiz.AnswerError) as info:
        q.read(value)
    assert str(info.value) == error


@pytest.mark.parametrize(
    "text,expected",
    [("Cross-Entropy!", "cross entropy"), ("  byte_pair   encoding. ", "byte pair encoding"), ("ＫＬ", "kl")],
)
def test_short_answers_are_normalised(text, expected):
    assert quiz.normalise(text) == expected


def test_numeric_answers_count_within_the_tolerance_only():
    (q,) = [q for q in quiz.load_questions(TOY) if q.id == "h"]
    assert q.correct(1.0099) and q.correct(0.9901)
    assert not q.correct(1.0101) and not q.correct(None)


# ---------------------------------------------------------------- grading


def test_the_key_scores_full_marks_and_a_blank_sheet_zero(tmp_path):
    questions = quiz.load_questions(TOY)
    full = quiz.grade(TOY, sheet(tmp_path, quiz.answer_sheet("toy-quiz", questions, answers=quiz.key(questions))))
    assert (full.verdict, full.score, full.max_score, full.kind) == ("Accepted", 6.0, 6.0, "quiz")
    blank = quiz.grade(TOY, sheet(tmp_path, quiz.answer_sheet("toy-quiz", questions)))
    assert (blank.verdict, blank.score) == ("Wrong Answer", 0.0)
    assert blank.message == "0 of 6 points; 0 of 6 answered"
    empty = quiz.grade(TOY, sheet(tmp_path, ""))
    assert (empty.verdict, empty.score, len(empty.tests)) == ("Wrong Answer", 0.0, 6)


def test_each_question_is_marked_with_its_explanation(tmp_path):
    report = quiz.grade(TOY, sheet(tmp_path, 'pick = "b"\nh = 2\nsym = true\n'))
    marks = {t.id: (t.outcome, t.points) for t in report.tests}
    assert marks["pick"] == ("passed", 1.0) and marks["h"] == ("wrong_answer", 0.0)
    by_id = {t.id: t.message for t in report.tests}
    assert by_id["pick"] == 'Correct. Answer: "b".\nKL is a divergence.'
    assert by_id["h"] == "Your answer: 2 bits. Answer: 1 bits (± 0.01).\nH = 1 bit."
    assert by_id["many"].startswith('Not answered. Answer: ["a", "b"].')
    assert report.score == 1.0 and report.verdict == "Wrong Answer"


@pytest.mark.parametrize(
    "text,message",
    [
        ("pick = [", "the answer file is not valid TOML: "),
        ("bogus = 1", "bogus: no such question in this quiz (questions: pick, many, h, steps, name, sym)"),
        ('h = "lots"', 'h (numeric): expected a number, in bits; got "lots"'),
    ],
)
def test_a_malformed_sheet_is_a_syntax_error_naming_the_question(tmp_path, text, message):
    report = quiz.grade(TOY, sheet(tmp_path, text))
    assert report.verdict == "Syntax Error" and report.message.startswith(message)


def test_a_broken_quiz_is_an_internal_error_not_the_learners(tmp_path):
    folder = tmp_path / "toy-quiz"
    shutil.copytree(TOY, folder)
    (folder / "questions.toml").write_text("[[question]]\n")
    report = quiz.grade(folder, sheet(tmp_path, ""))
    assert report.verdict == "Internal Error" and "question 1: id: missing" in report.message


# ---------------------------------------------------------------- the commands


def test_next_writes_the_answer_sheet_and_shows_the_questions(quiz_bank):
    from lmprep import paths

    result = run("next")
    path = paths.workspace() / "toy_quiz.toml"
    assert result.exit_code == 0 and f"Wrote the answer sheet to {path}" in result.output
    assert "1. pick (single, 1 point)" in result.output and "b) KL" in result.output
    text = path.read_text()
    assert text.startswith("# lmprep: toy-quiz") and 'pick = ""' in text and "#   b) KL" in text


def test_submit_grades_the_sheet_records_it_and_explains(quiz_bank):
    from lmprep import paths

    run("next")
    path = paths.workspace() / "toy_quiz.toml"
    path.write_text(path.read_text().replace('pick = ""', 'pick = "b"').replace('sym = ""', "sym = true"))
    result = run("submit")
    assert result.exit_code == 10
    assert result.output.startswith("Wrong Answer  toy-quiz  1/6 points")
    assert '✓ 1. Which is a divergence?  (1/1)\n  Correct. Answer: "b".\n  KL is a divergence.' in result.output
    assert "✗ 6. KL is symmetric.  (0/1)\n  Your answer: true. Answer: false." in result.output
    path.write_text(path.read_text().replace('h = ""', 'h = "one"'))
    bad = run("submit")
    assert bad.exit_code == 15 and 'h (numeric): expected a number, in bits; got "one"' in bad.output
    attempts = json.loads(run("progress", "--json").output)["recent"]
    assert [a["verdict"] for a in attempts] == ["Syntax Error", "Wrong Answer"]


def test_quiz_asks_each_question_saves_and_grades(quiz_bank):
    from lmprep import paths

    answers = "b\nb, a\n1.0\nb a c\nPPL\nfalse\n"
    result = run("quiz", "toy-quiz", input=answers)
    assert result.exit_code == 0, result.output
    assert "Error" not in result.output
    assert "Accepted  toy-quiz  6/6 points" in result.output
    saved = (paths.workspace() / "toy_quiz.toml").read_text()
    assert 'many = ["a", "b"]' in saved and "h = 1.0" in saved and "sym = false" in saved
    summary = json.loads(run("progress", "--json").output)
    assert summary["solved"] == 1


def test_quiz_reasks_a_malformed_answer_and_keeps_unanswered_ones_blank(quiz_bank):
    from lmprep import paths

    result = run("quiz", "toy-quiz", input="z\nb\n\n\n\n\n\n")
    assert 'pick (single): expected one letter, e.g. "b"; got "z"' in result.output
    assert result.exit_code == 10 and "1/6 points" in result.output
    saved = (paths.workspace() / "toy_quiz.toml").read_text()
    assert 'pick = "b"' in saved and 'many = ""' in saved


def test_quiz_commands_refuse_what_does_not_apply(quiz_bank):
    assert run("hint", "toy-quiz").output.strip() == (
        "Error: toy-quiz is a quiz: it has no hints; each question's explanation follows grading"
    )
    run("next")
    assert "has no examples to run" in run("test").output
    solution = run("solution", "toy-quiz", "--yes")
    assert 'pick = "b"' in solution.output and 'steps = ["b", "a", "c"]' in solution.output


def test_quiz_refuses_a_code_challenge(toy_bank):
    result = run("quiz", "toy-sum")
    assert result.exit_code == 1
    assert (
        result.output.strip() == "Error: toy-sum is a code challenge, not a quiz: edit its file, then `lmprep submit`"
    )


def test_validate_proves_a_quiz_and_reports_a_broken_one(tmp_path):
    ok = run("validate", str(TOY))
    assert ok.exit_code == 0 and "toy-quiz" in ok.output and "Accepted" in ok.output
    folder = tmp_path / "toy-quiz"
    shutil.copytree(TOY, folder)
    text = (folder / "questions.toml").read_text()
    (folder / "questions.toml").write_text(text.replace('units = "bits"', 'units = ""'))
    broken = run("validate", str(folder))
    assert broken.exit_code == 1
    assert "question 'h': a numeric question needs tolerance > 0 and its units" in broken.output
