"""`lmprep export gradescope`: the bundle, and its run_autograder run end to end.

The end-to-end tests lay out a Gradescope machine in a temporary folder (source/ = the
unzipped bundle, submission/, results/) and run the bundle's own run_autograder with bash
and AUTOGRADER_ROOT pointing there. setup.sh is not run (it downloads torch); instead the
bundle's wheel is unpacked and put first on PYTHONPATH, so that the lmprep that grades is
the bundle's copy, holding only the exported challenges, as setup.sh would install it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader import Report, TestResult, grade, sandbox
from lmprep import gradescope
from lmprep.cli import cli
from tests.conftest import ROOT, TOY_CHALLENGES

TOY_SUM = TOY_CHALLENGES / "toy-sum"
CONTENT = "lmprep/_content/challenges"
WHEEL = f"lmprep-{metadata.version('lmprep')}-py3-none-any.whl"
TORCH = metadata.version("torch").split("+")[0]


def export(*args):
    return CliRunner().invoke(cli, ["export", "gradescope", *args], catch_exceptions=False)


@pytest.fixture(scope="module")
def machine(tmp_path_factory):
    """A bundle of toy-sum and toy-tensor, its wheel unpacked as setup.sh would install it,
    and a function that lays out a Gradescope machine and runs run_autograder on it."""
    base = tmp_path_factory.mktemp("gradescope")
    bundle = base / "autograder.zip"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LMPREP_CHALLENGES", str(TOY_CHALLENGES))
        made = gradescope.export(["toy-sum", "toy-tensor"], bundle)
    site = base / "site-packages"
    with zipfile.ZipFile(bundle) as zf:
        (base / WHEEL).write_bytes(zf.read(WHEEL))
    with zipfile.ZipFile(base / WHEEL) as zf:
        zf.extractall(site)
    counter = iter(range(1000))

    def run(slugs: list[str] | None, files: dict[str, str | Path]) -> tuple[dict, str]:
        """Lay out a machine for ``files`` (name -> text, or a file to copy) and grade it with
        a bundle of ``slugs`` (None: the module's toy-sum + toy-tensor bundle)."""
        root = base / f"autograder-{next(counter)}"
        (root / "submission").mkdir(parents=True)
        (root / "results").mkdir()
        zip_path = bundle
        if slugs is not None:  # a bundle of fewer challenges: the unpacked wheel holds them too
            assert set(slugs) <= {"toy-sum", "toy-tensor"}
            zip_path = root / "bundle.zip"
            with pytest.MonkeyPatch.context() as mp:
                mp.setenv("LMPREP_CHALLENGES", str(TOY_CHALLENGES))
                gradescope.export(slugs, zip_path)
        with zipfile.ZipFile(zip_path) as zf:
            zf.extractall(root / "source")
        for name, content in files.items():
            target = root / "submission" / name
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, Path):
                shutil.copy(content, target)
            else:
                target.write_text(content.replace("{{ROOT}}", str(root)).replace("{{SITE}}", str(site)))
        bin_dir = root / "bin"  # `python3` is this Python (a venv's too), which has lmprep's dependencies
        bin_dir.mkdir()
        (bin_dir / "python3").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
        (bin_dir / "python3").chmod(0o755)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LMPREP_CHALLENGES")}
        env.update(
            AUTOGRADER_ROOT=str(root),
            PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
            PYTHONPATH=str(site),
            LMPREP_CHALLENGES=str(TOY_CHALLENGES),  # run_autograder must unset it
            LMPREP_WARM="1",  # the runner grades cold whatever this says: no server left behind
        )
        proc = subprocess.run(
            ["bash", str(root / "source" / "run_autograder")],
            capture_output=True,
            text=True,
            env=env,
            cwd=base,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        run.root = root
        return json.loads((root / "results" / "results.json").read_text()), proc.stdout

    run.bundle, run.made, run.site = bundle, made, site
    return run


# ---------------------------------------------------------------- the bundle


def test_export_writes_setup_run_autograder_and_a_wheel_of_the_chosen_challenges(machine):
    assert machine.made["challenges"] == ["toy-sum", "toy-tensor"]
    assert machine.made["path"] == str(machine.bundle)
    assert machine.made["size_kb"] == -(-machine.bundle.stat().st_size // 1024)
    with zipfile.ZipFile(machine.bundle) as zf:
        assert zf.namelist() == ["setup.sh", "run_autograder", WHEEL]
        for name in ("setup.sh", "run_autograder"):
            assert zf.getinfo(name).external_attr >> 16 & 0o111, f"{name} is not executable"
        setup = zf.read("setup.sh").decode()
        runner = zf.read("run_autograder").decode()
    # setup.sh: the CPU torch this lmprep runs with, then the bundled wheel
    assert "cpu_index=https://download.pytorch.org/whl/cpu" in setup
    assert f'pip install "torch=={TORCH}" --index-url "$cpu_index"' in setup
    assert 'pip install "$wheel"' in setup and f'wheel="$here/{WHEEL}"' in setup
    assert "python3 -m lmprep.gradescope run toy-sum toy-tensor" in runner
    assert 'AUTOGRADER_ROOT="${AUTOGRADER_ROOT:-/autograder}"' in runner
    for text in (setup, runner):
        check = subprocess.run(["bash", "-n"], input=text, capture_output=True, text=True)
        assert check.returncode == 0, check.stderr


def test_the_wheel_holds_lmprep_grader_and_only_the_chosen_content(machine):
    with zipfile.ZipFile(machine.site.parent / WHEEL) as zf:
        names = zf.namelist()
        info = f"lmprep-{metadata.version('lmprep')}.dist-info"
        meta = zf.read(f"{info}/METADATA").decode()
        record = zf.read(f"{info}/RECORD").decode().splitlines()
        # RECORD lists every file with its true hash and size, as pip expects
        listed = {line.split(",")[0]: line.split(",")[1:] for line in record}
        assert set(listed) == set(names)
        for name in names:
            if name != f"{info}/RECORD":
                data = zf.read(name)
                digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
                assert listed[name] == [f"sha256={digest}", str(len(data))], name
    content = {n.split("/")[3] for n in names if n.startswith("lmprep/_content/challenges/")}
    assert content == {"toy-sum", "toy-tensor"}
    assert "lmprep/_content/challenges/toy-sum/spec/test_sum.py" in names
    assert "lmprep/gradescope.py" in names and "grader/judge.py" in names
    assert "lmprep/templates/gradescope/run_autograder.j2" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    # the dependencies are this lmprep's own, without the dev extras
    for requirement in metadata.requires("lmprep"):
        assert (f"Requires-Dist: {requirement}" in meta) == ("extra ==" not in requirement), requirement


def test_export_twice_gives_the_same_bytes(tmp_path, toy_bank):
    gradescope.export(["toy-sum"], tmp_path / "a.zip")
    gradescope.export(["toy-sum"], tmp_path / "b.zip")
    assert (tmp_path / "a.zip").read_bytes() == (tmp_path / "b.zip").read_bytes()


def test_export_through_the_cli(tmp_path, toy_bank):
    out = tmp_path / "ag.zip"
    result = export("toy-sum", "-o", str(out), "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["challenges"] == ["toy-sum"] and data["path"] == str(out) and out.is_file()


def test_an_unknown_slug_writes_nothing(tmp_path, toy_bank):
    out = tmp_path / "ag.zip"
    result = export("toy-sum", "no-such", "-o", str(out))
    assert result.exit_code == 1
    assert result.output == "Error: unknown challenge 'no-such' (known: toy-sum, toy-tensor)\n"
    assert list(tmp_path.iterdir()) == []


def test_a_missing_output_folder_is_one_line(tmp_path, toy_bank):
    result = export("toy-sum", "-o", str(tmp_path / "nowhere" / "ag.zip"))
    assert result.exit_code == 1
    assert (
        result.output == f"Error: {tmp_path / 'nowhere' / 'ag.zip'}: no folder {tmp_path / 'nowhere'} to write into\n"
    )


# ---------------------------------------------------------------- end to end


def test_a_correct_submission_scores_full_marks(machine, no_stray_processes):
    data, stdout = machine(["toy-sum"], {"answer.py": TOY_SUM / "reference.py"})
    tests = data["tests"]
    assert [t["name"] for t in tests] == [
        "sums a small list",
        "ranges [0]",
        "ranges [10]",
        "input untouched",
        "accumulator",
        "rejects strings",
    ]
    assert all(t["status"] == "passed" and t["score"] == t["max_score"] and t["output"] == "" for t in tests)
    assert sum(t["max_score"] for t in tests) == data["score"]
    assert data["output"].splitlines()[0] == "toy-sum: Accepted, 8/8 points; 6 of 6 tests passed"
    assert data["extra_data"]["toy-sum"]["verdict"] == "Accepted"
    assert "Accepted  toy-sum" in stdout  # the instructor's log: the full report
    # graded by the bundle's copy of lmprep, with the bundle's content
    assert stdout.splitlines()[0].endswith(f"from {machine.site / 'lmprep'}, content {machine.site / CONTENT}")


def test_a_wrong_submission_shows_public_failures_and_hides_hidden_cases(machine):
    mutant = TOY_SUM / "mutants" / "off_by_one.py"
    data, stdout = machine(["toy-sum"], {"off_by_one.py": mutant})
    report = grade(TOY_SUM, mutant, warm=False)  # what lmprep submit says of the same file
    assert data["score"] == report.score < report.max_score
    by_name = {t["name"]: t for t in data["tests"]}
    failed = [t for t in report.tests if t.outcome != "passed"]
    assert failed and {t.name for t in failed} == {n for n, t in by_name.items() if t["status"] == "failed"}
    public = [t for t in failed if t.public]
    hidden = [t for t in failed if not t.public and t.message]
    assert public and hidden
    # a public test shows its message; a hidden one its outcome, never its message
    for t in public:
        assert t.message in by_name[t.name]["output"]
    text = json.dumps(data)
    for t in hidden:
        assert by_name[t.name]["output"].startswith("Wrong Answer. A hidden test")
        assert t.message not in text
    # the verdict and the failure a learner is shown (here the public one) head the output
    shown = report.first_failure
    assert data["output"].splitlines()[:3] == [
        "toy-sum: Wrong Answer, 6/8 points; 4 of 6 tests passed",
        f"First failure: {shown.name}",
        f"  Wrong Answer: {shown.message}",
    ]
    assert hidden[0].message in stdout  # the instructor's log has everything


def test_a_hidden_failure_shows_its_outcome_and_diagnosis_only():
    hidden = TestResult("t::b", "b [big]", "wrong_answer", 0.0, 1.0, 0.1, message="x=[1e4] gave nan, 0.73 expected")
    hidden.diagnosis = "subtract the maximum first"
    assert gradescope.shown_output(hidden) == (
        "Wrong Answer. A hidden test: its inputs and expected values are not shown.\n"
        "Likely mistake: subtract the maximum first"
    )
    public = TestResult("t::a", "a", "time_limit", 0.0, 1.0, 2.0, message="ran past 2 s on x[3]", public=True)
    assert gradescope.shown_output(public) == "Time Limit Exceeded: ran past 2 s on x[3]"
    assert gradescope.shown_output(TestResult("t::c", "c", "passed", 1.0, 1.0, 0.1, public=True)) == ""
    # the first failure with a diagnosis heads the output, its inputs still hidden
    report = Report(verdict="Wrong Answer", challenge="toy-sum", score=0.0, max_score=2.0, tests=[public, hidden])
    data = gradescope.results([gradescope.Graded("toy-sum", file=Path("a.py"), report=report)])
    assert data["output"].splitlines() == [
        "toy-sum: Wrong Answer, 0/2 points; 0 of 2 tests passed",
        "First failure: b [big]",
        "  Wrong Answer. A hidden test: its inputs and expected values are not shown.",
        "  Likely mistake: subtract the maximum first",
    ]
    assert "1e4" not in json.dumps(data) and "0.73" not in json.dumps(data)


def test_a_missing_file_says_what_to_submit(machine):
    data, _ = machine(None, {"notes.txt": "I did not finish", "toy_sum.py": TOY_SUM / "reference.py"})
    assert data["extra_data"]["toy-tensor"]["verdict"] == "Not graded"
    missing = [t for t in data["tests"] if t["name"] == "toy-tensor: a file to grade"]
    assert missing == [
        {
            "name": "toy-tensor: a file to grade",
            "score": 0.0,
            "max_score": 0.0,
            "status": "failed",
            "output": "no file for toy-tensor: submit it as toy-tensor.py or toy_tensor.py "
            "(submitted: notes.txt, toy_sum.py)",
            "visibility": "visible",
        }
    ]
    assert data["score"] == 8.0  # toy-sum still graded
    assert data["output"].splitlines()[-1] == "Total: 8 points"


def test_two_slugs_grade_one_file_each(machine):
    data, _ = machine(
        None, {"toy-sum.py": TOY_SUM / "reference.py", "toy_tensor.py": TOY_CHALLENGES / "toy-tensor" / "reference.py"}
    )
    assert {s: d["verdict"] for s, d in data["extra_data"].items()} == {"toy-sum": "Accepted", "toy-tensor": "Accepted"}
    assert {s: d["file"] for s, d in data["extra_data"].items()} == {
        "toy-sum": "toy-sum.py",
        "toy-tensor": "toy_tensor.py",
    }
    names = [t["name"] for t in data["tests"]]
    assert names[0] == "toy-sum: sums a small list" and any(n.startswith("toy-tensor: ") for n in names)
    assert data["score"] == sum(t["score"] for t in data["tests"]) == sum(t["max_score"] for t in data["tests"])
    lines = data["output"].splitlines()
    assert lines[0].startswith("toy-sum (toy-sum.py): Accepted") and lines[1].startswith(
        "toy-tensor (toy_tensor.py): Accepted"
    )
    assert lines[-1] == f"Total: {data['score']:g}/{data['score']:g} points"


@pytest.mark.skipif(sandbox.landlock_abi() < 1, reason="the file-system sandbox needs Landlock")
def test_the_submission_cannot_read_the_installed_specs_or_the_bundle(machine):
    snoop = (
        """
import os

TARGETS = [
    "{{SITE}}/lmprep/_content/challenges/toy-sum/spec/test_sum.py",
    "{{SITE}}/lmprep/_content/challenges/toy-sum/reference.py",
    "{{ROOT}}/source/"""
        + WHEEL
        + """",
    "{{ROOT}}/source/setup.sh",
]


def opens(path):
    try:
        with open(path, "rb") as fh:
            return fh.read(1) is not None
    except OSError:
        return False


OPENED = [p for p in TARGETS if opens(p)]


def total(xs):
    if OPENED:
        raise RuntimeError("read " + ", ".join(OPENED))
    return sum(xs)


class Accumulator:
    def __init__(self, start=0.0):
        self.t = start

    def add(self, x):
        self.t += x

    def value(self):
        return self.t
"""
    )
    data, _ = machine(["toy-sum"], {"snoop.py": snoop})
    # every target is there to be read: the sandbox, not a wrong path, kept them out
    assert (machine.site / "lmprep/_content/challenges/toy-sum/spec/test_sum.py").is_file()
    assert (machine.root / "source" / WHEEL).is_file() and (machine.root / "source" / "setup.sh").is_file()
    assert data["extra_data"]["toy-sum"]["verdict"] == "Accepted", data["output"]


# ---------------------------------------------------------------- the runner's parts


def test_pick_files(tmp_path):
    sub = tmp_path / "submission"
    (sub / "__MACOSX").mkdir(parents=True)
    (sub / "__MACOSX" / "._a.py").write_text("")
    (sub / "a.py").write_text("")
    code = {"toy-sum": "code", "toy-tensor": "code", "quiz-x": "quiz"}
    assert gradescope.pick_files(["toy-sum"], code, sub) == {"toy-sum": sub / "a.py"}
    (sub / "b.py").write_text("")
    assert gradescope.pick_files(["toy-sum"], code, sub) == {
        "toy-sum": "several .py files were submitted (a.py, b.py): name the one to grade toy-sum.py or toy_sum.py"
    }
    (sub / "deep").mkdir()
    (sub / "deep" / "toy_sum.py").write_text("")
    assert gradescope.pick_files(["toy-sum"], code, sub) == {"toy-sum": sub / "deep" / "toy_sum.py"}
    (sub / "toy-sum.py").write_text("")
    assert gradescope.pick_files(["toy-sum"], code, sub) == {
        "toy-sum": "several files could be the answer to toy-sum (deep/toy_sum.py, toy-sum.py): submit only one"
    }
    assert gradescope.pick_files(["quiz-x"], code, sub) == {
        "quiz-x": "no file for quiz-x: submit it as quiz-x.toml or quiz_x.toml "
        "(submitted: a.py, b.py, deep/toy_sum.py, toy-sum.py)"
    }
    (sub / "answers.toml").write_text("")
    assert gradescope.pick_files(["quiz-x"], code, sub) == {"quiz-x": sub / "answers.toml"}
    for n in range(12):
        (sub / "extra" / f"f{n:02d}.txt").parent.mkdir(exist_ok=True)
        (sub / "extra" / f"f{n:02d}.txt").write_text("")
    message = gradescope.pick_files(["toy-tensor", "toy-sum"], code, sub)["toy-tensor"]
    assert message.endswith("extra/f05.txt and 7 more)")
    assert gradescope.pick_files(["toy-tensor"], code, tmp_path / "none") == {
        "toy-tensor": "no file for toy-tensor: submit it as toy-tensor.py or toy_tensor.py (submitted: nothing)"
    }


def test_a_file_that_does_not_load_gets_a_failed_entry_with_its_reason():
    report = Report(verdict="Syntax Error", challenge="toy-sum", score=0.0, max_score=8.0, message="line 3: bad")
    graded = gradescope.Graded("toy-sum", file=Path("/x/a.py"), report=report)
    data = gradescope.results([graded], 2.4)
    assert data["tests"] == [
        {
            "name": "the file loads",
            "score": 0.0,
            "max_score": 8.0,
            "status": "failed",
            "output": "line 3: bad",
            "visibility": "visible",
        }
    ]
    assert data["output"] == "toy-sum: Syntax Error, 0/8 points\n  line 3: bad"
    assert data["execution_time"] == 2 and data["stdout_visibility"] == "hidden"


def test_an_internal_error_is_never_blamed_on_the_student():
    tests = [TestResult("t::a", "a", "error", 0.0, 1.0, 0.1, message="Traceback: /secret/spec.py", public=False)]
    report = Report(verdict="Internal Error", challenge="toy-sum", max_score=1.0, tests=tests)
    data = gradescope.results([gradescope.Graded("toy-sum", file=Path("a.py"), report=report)])
    assert "/secret" not in json.dumps(data["tests"]) + data["output"]
    assert "The grader failed, not your code" in data["output"]
    assert data["tests"][0]["output"] == "Internal Error (a fault of the grader, not of your code). " + (
        "A hidden test: its inputs and expected values are not shown."
    )


def test_the_runner_always_writes_results(tmp_path, toy_bank, capsys):
    data = gradescope.run(["no-such"], tmp_path)
    written = json.loads((tmp_path / "results" / "results.json").read_text())
    assert written == data
    assert data["score"] == 0.0 and data["tests"] == []
    assert data["output"] == "The autograder failed, not your submission: ask your instructor to regrade it."
    assert data["extra_data"]["error"].startswith("UnknownChallenge: unknown challenge 'no-such'")
    assert "autograder error: UnknownChallenge" in capsys.readouterr().out


def test_main_reads_the_root_from_the_environment(tmp_path, toy_bank, monkeypatch):
    monkeypatch.setenv("AUTOGRADER_ROOT", str(tmp_path))
    (tmp_path / "submission").mkdir()
    assert gradescope.main(["run", "toy-sum"]) == 0
    data = json.loads((tmp_path / "results" / "results.json").read_text())
    assert data["tests"][0]["output"].startswith("no file for toy-sum")


def test_a_quiz_shows_the_students_own_answers_never_the_key(tmp_path):
    from grader import quiz

    quiz_dir = ROOT / "challenges" / "quiz-sampling"
    questions = quiz.load_questions(quiz_dir)
    first = questions[0].id
    wrong = "b" if quiz.key(questions)[first] == "a" else "a"  # a single-choice question
    sheet = tmp_path / "quiz_sampling.toml"
    sheet.write_text(f'{first} = "{wrong}"\n')
    report = quiz.grade(quiz_dir, sheet)
    data = gradescope.results([gradescope.Graded("quiz-sampling", file=sheet, report=report)])
    text = json.dumps(data)
    keys = [t.message.split(" Answer: ", 1)[1] for t in report.tests]
    for key in keys:  # "<the key>.\n<its explanation>": neither is shown
        shown_key, explanation = key.split("\n", 1)
        assert shown_key not in text and explanation.strip()[:60] not in text
    outputs = [t["output"] for t in data["tests"]]
    assert outputs[0].startswith("Wrong Answer. Your answer: ") and outputs[0].endswith("The answer key is not shown.")
    assert outputs[1] == "Wrong Answer. Not answered. The answer key is not shown."
