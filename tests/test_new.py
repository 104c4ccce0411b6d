"""`lmprep new`: the folder it writes validates green at once, is usable by a learner, and
the command refuses to overwrite anything or to take a bad slug."""

import json
import shutil
import sys

import pytest
from click.testing import CliRunner

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from grader import quiz
from lmprep import scaffold
from lmprep.cli import cli
from lmprep.errors import LmprepError

CODE_FILES = [
    "challenge.toml",
    "hints.md",
    "mutants/averages_over_padding.py",
    "mutants/sums_log_probs.py",
    "prompt.md",
    "reference.py",
    "spec/test_perplexity.py",
    "stub.py",
]
QUIZ_FILES = ["challenge.toml", "prompt.md", "questions.toml"]


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def tree(folder):
    """Every file under ``folder`` with its bytes: to prove nothing was touched."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# ---------------------------------------------------------------- valid as written


def test_new_code_challenge_validates_green_through_the_cli(tmp_path):
    made = run("new", "beam-search", "--topic", "decoding", "--difficulty", "medium", "--dir", str(tmp_path))
    assert made.exit_code == 0, made.output
    folder = tmp_path / "beam-search"
    listed = "".join(f"  {name}\n" for name in CODE_FILES)
    assert made.output == (
        f"Wrote {folder}/\n{listed}\nProve it sound: lmprep validate {folder}\n"
        f"Try it as a learner: LMPREP_CHALLENGES={folder.parent} lmprep start beam-search\n"
    )
    assert sorted(tree(folder)) == CODE_FILES
    meta = tomllib.loads((folder / "challenge.toml").read_text())
    assert (meta["slug"], meta["topic"], meta["difficulty"], meta["kind"]) == (
        "beam-search",
        "decoding",
        "medium",
        "code",
    )
    assert "# REPLACE:" in (folder / "stub.py").read_text() and "REPLACE:" in (folder / "reference.py").read_text()

    result = run("validate", str(folder), "--json")
    assert result.exit_code == 0, result.output
    (check,) = json.loads(result.output)
    assert check["ok"] and check["problems"] == []
    assert check["reference"] == "Accepted"
    assert check["stub"] == "0/10"
    assert (check["mutants_killed"], check["mutants_total"]) == (2, 2)
    for mutant in check["mutants"]:
        assert mutant["rejected"] and mutant["verdict"] == "Wrong Answer"
        assert mutant["expected"] and mutant["expected"].lower() in mutant["diagnosis"].lower(), mutant


def test_new_quiz_validates_green_with_one_question_of_each_type(tmp_path):
    made = run("new", "quiz-perplexity", "--kind", "quiz", "--dir", str(tmp_path), "--json")
    assert made.exit_code == 0, made.output
    folder = tmp_path / "quiz-perplexity"
    data = json.loads(made.output)
    assert data["path"] == str(folder) and data["kind"] == "quiz" and data["topic"] == "custom"
    assert data["files"] == QUIZ_FILES == sorted(tree(folder))
    assert sorted(q.type for q in quiz.load_questions(folder)) == sorted(quiz.TYPES)

    result = run("validate", str(folder), "--json")
    assert result.exit_code == 0, result.output
    (check,) = json.loads(result.output)
    assert check["ok"] and check["reference"] == "Accepted" and check["stub"] == "0/6"


def test_a_new_challenge_is_usable_by_a_learner(tmp_path, monkeypatch):
    bank = tmp_path / "course"
    monkeypatch.setenv("LMPREP_CHALLENGES", str(bank))
    assert run("new", "my-perplexity").exit_code == 0  # into $LMPREP_CHALLENGES
    assert run("new", "my-quiz", "--kind", "quiz").exit_code == 0

    started = run("start", "my-perplexity")
    assert started.exit_code == 0, started.output
    assert (
        "My perplexity (easy)" in started.output
        and "Study notes: lmprep learn probability#perplexity" in started.output
    )
    stub = tmp_path / "workspace" / "my_perplexity.py"
    assert stub.read_text().startswith("# lmprep: my-perplexity ") and "def perplexity(" in stub.read_text()
    shutil.copyfile(bank / "my-perplexity" / "reference.py", stub)
    examples = run("test")  # the public example, on the current challenge
    assert examples.exit_code == 0, examples.output
    assert examples.output.startswith("Accepted  my-perplexity  1/1 points")

    started = run("start", "my-quiz")
    assert started.exit_code == 0, started.output
    assert (tmp_path / "workspace" / "my_quiz.toml").read_text().count(' = ""') == 6


def test_order_follows_the_last_challenge_and_files_come_from_the_templates(tmp_path):
    (tmp_path / "late").mkdir()
    (tmp_path / "late" / "challenge.toml").write_text("order = 500\n")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "challenge.toml").write_text("order = [\n")  # skipped, not an error
    made = scaffold.new_challenge("next-one", root=tmp_path)
    assert made["order"] == 501 == scaffold.next_order(tmp_path) - 1
    assert made["files"] == ["challenge.toml", *scaffold.template_files("code")]
    assert tomllib.loads((tmp_path / "next-one" / "challenge.toml").read_text())["order"] == 501
    shipped = scaffold.next_order(tmp_path / "empty")  # past the shipped bank's last
    assert shipped > 1 and shipped == scaffold.next_order(tmp_path / "missing")


def test_default_folder_is_lmprep_challenges_else_dot_challenges(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LMPREP_CHALLENGES", raising=False)
    assert scaffold.default_root().resolve() == tmp_path / "challenges"
    made = scaffold.new_challenge("here")
    assert (tmp_path / "challenges" / "here" / "challenge.toml").is_file() and made["path"] == "challenges/here"
    monkeypatch.setenv("LMPREP_CHALLENGES", str(tmp_path / "mine"))
    scaffold.new_challenge("there")
    assert (tmp_path / "mine" / "there" / "challenge.toml").is_file()


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("content", ["empty", "full"])
def test_refuses_to_overwrite_an_existing_folder(tmp_path, content):
    folder = tmp_path / "taken"
    folder.mkdir()
    if content == "full":
        (folder / "notes.txt").write_text("mine")
    before = tree(tmp_path)
    result = run("new", "taken", "--dir", str(tmp_path))
    assert result.exit_code == 1
    assert result.output == f"Error: {folder} already exists: lmprep new never overwrites; pick another slug or --dir\n"
    assert folder.is_dir() and tree(tmp_path) == before


@pytest.mark.parametrize(
    "slug, error",
    [
        ("Beam_Search", "Beam_Search: a slug is lowercase words joined by '-' (e.g. beam-search)"),
        ("beam--search", "beam--search: a slug is lowercase words joined by '-' (e.g. beam-search)"),
        ("-beam", "-beam: a slug is lowercase words joined by '-' (e.g. beam)"),
        ("../up", "../up: a slug is lowercase words joined by '-' (e.g. up)"),
        ("beam search", "beam search: a slug is lowercase words joined by '-' (e.g. beam-search)"),
        ("", "'': a slug is lowercase words joined by '-'"),
    ],
)
def test_a_bad_slug_is_a_one_line_error_and_writes_nothing(tmp_path, slug, error):
    result = run("new", "--dir", str(tmp_path), "--", slug)
    assert result.exit_code == 1
    assert result.output == f"Error: {error}\n"
    assert list(tmp_path.iterdir()) == []


def test_bad_topic_kind_and_difficulty_are_one_line_errors(tmp_path):
    result = run("new", "fine", "--topic", "Decoding!", "--dir", str(tmp_path))
    assert result.output == "Error: Decoding!: a topic is lowercase words joined by '-' (e.g. decoding)\n"
    with pytest.raises(LmprepError, match=r"^essay: a kind is one of code, quiz$"):
        scaffold.new_challenge("fine", kind="essay", root=tmp_path)
    with pytest.raises(LmprepError, match=r"^brutal: a difficulty is one of easy, medium, hard$"):
        scaffold.new_challenge("fine", difficulty="brutal", root=tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_dir_that_is_a_file_is_an_error(tmp_path):
    file = tmp_path / "course.txt"
    file.write_text("not a folder")
    result = run("new", "fine", "--dir", str(file))
    assert result.exit_code == 2  # click's own check of --dir
    assert f"Invalid value for '--dir': Directory '{file}' is a file." in result.output
    with pytest.raises(LmprepError, match=r": not a folder \(--dir names the challenges folder to write into\)$"):
        scaffold.new_challenge("fine", root=file)
    with pytest.raises(LmprepError, match=r"^cannot create .*/course.txt/sub/fine: Not a directory$"):
        scaffold.new_challenge("fine", root=file / "sub")
    assert file.read_text() == "not a folder"


def test_a_failed_write_leaves_no_half_written_folder(tmp_path, monkeypatch):
    def disk_full(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(scaffold.shutil, "copyfile", disk_full)
    with pytest.raises(LmprepError, match=r"^cannot write .*/fine: No space left on device$"):
        scaffold.new_challenge("fine", root=tmp_path)
    assert list(tmp_path.iterdir()) == []
