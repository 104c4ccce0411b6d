"""The learner's loop through the CLI, with an isolated user directory."""

import json
import os
import re
import shutil

import pytest
from click.testing import CliRunner

from lmprep.cli import cli
from tests.conftest import TOY_CHALLENGES, normalise

TOY = TOY_CHALLENGES / "toy-sum"


@pytest.fixture(autouse=True)
def bank(toy_bank):
    return toy_bank


def run(*args, input=None):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, input=input)


def workspace_file(name="toy_sum.py"):
    from lmprep import paths

    return paths.workspace() / name


def test_next_writes_the_stub_and_prints_the_statement():
    result = run("next")
    assert result.exit_code == 0
    path = workspace_file()
    assert "Sum a list" in result.output and f"Wrote the stub to {path}" in result.output
    assert path.read_text().startswith("# lmprep: toy-sum")
    assert "raise NotImplementedError" in path.read_text()


def test_next_never_overwrites_work_and_resumes():
    run("next")
    path = workspace_file()
    path.write_text("# lmprep: toy-sum\n# my work\n")
    result = run("next")
    assert f"Your file: {path}" in result.output
    assert path.read_text() == "# lmprep: toy-sum\n# my work\n"


def test_whole_loop_wrong_then_right_then_progress():
    run("next")
    path = workspace_file()
    shutil.copy(TOY / "mutants" / "off_by_one.py", path)
    wrong = run("submit")
    assert wrong.exit_code == 10 and wrong.output.startswith("Wrong Answer  toy-sum  6/8 points")
    shutil.copy(TOY / "reference.py", path)
    right = run("submit")
    assert right.exit_code == 0 and right.output.startswith("Accepted  toy-sum  8/8 points")
    summary = json.loads(run("progress", "--json").output)
    assert (summary["solved"], summary["total"], summary["attempts"]) == (1, 2, 2)
    assert summary["by_topic"]["testing"] == {"total": 2, "solved": 1, "attempted": 1}
    assert [a["verdict"] for a in summary["recent"]] == ["Accepted", "Wrong Answer"]
    text = normalise(run("progress").output)
    assert text.startswith("Solved 1 of 2 challenges; 2 attempts, 0 hints used.\n")
    # solved: next moves on to the other challenge
    assert "Scale a tensor" in run("next").output


def test_internal_errors_are_listed_but_not_counted(monkeypatch):
    from grader import Report
    from lmprep import grading

    verdicts = iter([("Internal Error", 0), ("Wrong Answer", 6), ("Internal Error", 0), ("Accepted", 8)])

    def grade_file(path, slug, device="auto", public_only=False, db=None):
        verdict, score = next(verdicts)
        return Report(verdict=verdict, challenge=slug, score=score, max_score=8.0)

    monkeypatch.setattr(grading, "grade_file", grade_file)
    run("next")
    assert [run("submit").exit_code for _ in range(4)] == [19, 10, 19, 0]
    summary = json.loads(run("progress", "--json").output)
    assert (summary["attempts"], summary["grader_errors"]) == (2, 2)
    assert summary["by_topic"]["testing"] == {"total": 2, "solved": 1, "attempted": 1}
    recent = [(a["verdict"], a["counted"]) for a in summary["recent"]]
    assert recent == [("Accepted", True), ("Internal Error", False), ("Wrong Answer", True), ("Internal Error", False)]
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d", "WHEN", run("progress").output)
    assert text.startswith("Solved 1 of 2 challenges; 2 attempts (2 grader errors not counted), 0 hints used.\n")
    assert text.endswith(
        "Recent attempts:\n"
        "  WHEN  toy-sum                        Accepted 8/8\n"
        "  WHEN  toy-sum                        Internal Error (grader fault, not counted)\n"
        "  WHEN  toy-sum                        Wrong Answer 6/8\n"
        "  WHEN  toy-sum                        Internal Error (grader fault, not counted)\n"
    )
    (row,) = [r for r in json.loads(run("list", "--json").output) if r["slug"] == "toy-sum"]
    assert (row["status"], row["attempts"], row["grader_errors"]) == ("solved", 2, 2)
    assert "toy-sum                          testing        easy    solved (2 attempts)\n" in run("list").output


def test_attempt_records_code_device_and_tests():
    from lmprep import paths
    from lmprep.store import ProgressStore

    run("start", "toy-sum")
    shutil.copy(TOY / "reference.py", workspace_file())
    run("submit", "--device", "cpu")
    (attempt,) = ProgressStore(paths.database()).attempts()
    assert attempt["code"] == (TOY / "reference.py").read_text()
    assert attempt["device"] == "cpu" and len(attempt["challenge_hash"]) == 16
    assert [t["outcome"] for t in attempt["tests"]] == ["passed"] * 6


def test_test_runs_public_examples_and_records_nothing():
    run("next")
    shutil.copy(TOY / "reference.py", workspace_file())
    result = run("test")
    assert result.exit_code == 0 and result.output.startswith("Accepted  toy-sum  1/1 points")
    assert json.loads(run("progress", "--json").output)["attempts"] == 0


def test_submit_infers_challenge_and_rejects_a_file_for_another():
    run("next")
    path = workspace_file()
    result = CliRunner().invoke(cli, ["submit", str(path), "-c", "toy-tensor"])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {path} is the file for toy-sum, not toy-tensor"


def test_submit_without_anything_in_progress():
    result = CliRunner().invoke(cli, ["submit"])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: no challenge in progress: run `lmprep next`, or give a file"


def test_hints_are_revealed_one_at_a_time_and_recorded():
    run("next")
    first = run("hint")
    assert "Hint 1\nStart from zero." in first.output and "Hint 2" not in first.output
    run("hint")
    third = run("hint", "toy-sum")
    assert "Hint 3\nReturn the running total." in third.output
    assert "That is every hint" in run("hint").output
    assert json.loads(run("progress", "--json").output)["hints"] == 3


def test_solution_needs_accepted_or_confirmation():
    refused = CliRunner().invoke(cli, ["solution", "toy-sum"])
    assert refused.exit_code == 1
    assert "not solved yet: pass --yes" in refused.output
    shown = run("solution", "toy-sum", "--yes")
    assert shown.output == (TOY / "reference.py").read_text()
    from lmprep import paths
    from lmprep.store import ProgressStore

    assert [e["detail"] for e in ProgressStore(paths.database()).events(kind="solution")] == ["before solving"]


def test_reset_backs_up_the_learners_file():
    run("next")
    path = workspace_file()
    path.write_text("# lmprep: toy-sum\nprecious = 1\n")
    result = run("reset", "toy-sum")
    backups = list((path.parent / ".backups").glob("toy_sum.*.py"))
    assert len(backups) == 1 and backups[0].read_text() == "# lmprep: toy-sum\nprecious = 1\n"
    assert "raise NotImplementedError" in path.read_text()
    assert f"your file is backed up at {backups[0]}" in result.output


def test_skip_moves_next_past_a_challenge():
    run("next")
    assert "Skipped toy-sum" in run("skip").output
    assert "Scale a tensor" in run("next").output
    statuses = {r["slug"]: r["status"] for r in json.loads(run("list", "--json").output)}
    assert statuses == {"toy-sum": "skipped", "toy-tensor": "in progress"}


def test_list_filters_and_table():
    result = run("list")
    assert result.output.splitlines()[0].split() == ["challenge", "topic", "level", "status"]
    assert "toy-sum" in result.output and "toy-tensor" in result.output
    assert run("list", "--status", "solved").output.strip() == (
        "challenge                        topic          level   status\nNo challenge matches."
    )


def test_show_does_not_start():
    assert "Scale a tensor" in run("show", "toy-tensor").output
    assert json.loads(run("progress", "--json").output)["recent"] == []
    assert json.loads(run("show", "toy-tensor", "--json").output)["entry_points"] == ["scale", "Scaler", "apply"]


def test_learn_without_notes_is_clear(tmp_path, monkeypatch):
    from lmprep import bank

    monkeypatch.setattr(bank, "content_root", lambda: tmp_path)
    (tmp_path / "reference").mkdir()
    assert run("learn").output.strip() == "No study notes are installed yet (reference/ is empty)."
    result = CliRunner().invoke(cli, ["learn", "transformer"])
    assert result.exit_code == 1 and "no study notes for 'transformer'" in result.output


def test_watch_runs_the_hidden_specs_warm_and_the_examples_cold(monkeypatch):
    run("next")
    shutil.copy(TOY / "reference.py", workspace_file())
    result = run("watch", "--max-runs", "1", "--interval", "0.05")
    assert result.output.startswith("Accepted  toy-sum  8/8 points")  # every spec: the verdict line on top
    assert f"-- watching {workspace_file()}: the hidden specs (warm; not recorded) on every save" in result.output
    monkeypatch.setenv("LMPREP_WARM", "0")
    result = run("watch", "--max-runs", "1", "--interval", "0.05")
    assert result.output.startswith("Accepted  toy-sum  1/1 points")  # the public example only
    assert f"-- watching {workspace_file()}: the public examples on every save" in result.output
    assert run("progress", "--json").output.count('"verdict"') == 0  # neither is recorded


def test_submit_to_a_broken_database_says_so_and_changes_nothing(tmp_path):
    """The attempt is recorded while the grading starts: a database that cannot take it
    fails the submit with one line, the file left as it was."""
    db = tmp_path / "other.db"
    db.write_bytes(b"junk" * 50)
    shutil.copy(TOY / "reference.py", tmp_path / "answer.py")
    broken = CliRunner().invoke(cli, ["--db", str(db), "submit", str(tmp_path / "answer.py"), "-c", "toy-sum"])
    assert broken.exit_code == 1, broken.output
    assert broken.output.strip().count("\n") == 0 and "not a readable lmprep database" in broken.output
    assert db.read_bytes() == b"junk" * 50


def test_where_and_move_aside(tmp_path):
    db = tmp_path / "other.db"
    db.write_bytes(b"junk" * 50)
    broken = CliRunner().invoke(cli, ["--db", str(db), "progress"])
    assert broken.exit_code == 1 and "not a readable lmprep database" in broken.output
    moved = run("--db", str(db), "where", "--move-aside")
    assert f"Moved {db} to {db}.broken-" in moved.output
    places = json.loads(run("--db", str(db), "where", "--json").output)
    assert places["database"] == str(db) and places["workspace"] == os.environ["LMPREP_WORKSPACE"]
    assert run("--db", str(db), "progress", "--json").exit_code == 0


def test_cold_grades_without_the_server(monkeypatch):
    monkeypatch.setenv("LMPREP_WARM", "1")  # restored after the test: --cold sets LMPREP_WARM=0
    run("next")
    shutil.copy(TOY / "reference.py", workspace_file())
    warm = json.loads(run("test", "--json").output)
    cold = json.loads(run("--cold", "test", "--json").output)
    assert warm["timings"].get("warm") == 1.0 and "warm" not in cold["timings"]
    assert warm["verdict"] == cold["verdict"] == "Accepted"
