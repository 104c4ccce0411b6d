"""The command line: help everywhere, exit codes, JSON, one-line errors."""

import json
import subprocess
import sys

import click
import pytest
from click.testing import CliRunner

from lmprep.cli import cli
from tests.conftest import SUBMISSIONS, TOY_CHALLENGES, normalise

TOY = TOY_CHALLENGES / "toy-sum"


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def all_commands(group=cli, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if isinstance(command, click.Group):
            yield from all_commands(command, (*prefix, name))


@pytest.mark.parametrize(
    "path, command", list(all_commands()), ids=lambda v: " ".join(v) if isinstance(v, tuple) else ""
)
def test_every_command_has_help_with_an_example(path, command):
    result = run(*path, "--help")
    assert result.exit_code == 0
    assert "Example: lmprep " in result.output
    assert run(*path, "-h").output == result.output


def test_version():
    assert run("--version").output.strip() == "lmprep, version 0.1.0"


def test_help_does_not_import_torch():
    code = (
        "import sys; from lmprep.cli import cli; cli(['--help'], standalone_mode=False); print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("False")


def test_submit_prints_verdict_tests_and_first_failure(toy_bank):
    result = run("submit", str(TOY / "mutants" / "off_by_one.py"), "--challenge", "toy-sum")
    assert result.exit_code == 10
    lines = normalise(result.output).splitlines()
    assert lines[0] == "Wrong Answer  toy-sum  6/8 points  (N s, cpu)"
    assert lines[1] == "  ✓ 4 of 6 tests passed"
    assert lines[2].startswith("  ✗ sums a small list") and lines[2].endswith("Wrong Answer")
    assert len(lines) == 7  # the two failures only, then the first one explained
    assert "\nFirst failure: sums a small list\n  total([1, 2, 3]) should be 6\n" in result.output


def test_submit_verbose_lists_every_test(toy_bank):
    result = run("submit", str(TOY / "mutants" / "off_by_one.py"), "-c", "toy-sum", "-v")
    assert [line.split()[0] for line in result.output.splitlines()[1:7]] == ["✗", "✓", "✓", "✓", "✓", "✗"]


def test_submit_accepted_exits_zero_and_json_is_the_report(toy_bank):
    result = run("submit", str(TOY / "reference.py"), "-c", "toy-sum", "--json")
    assert result.exit_code == 0
    report = json.loads(result.output)
    assert report["verdict"] == "Accepted" and report["score"] == report["max_score"] == 8


@pytest.mark.parametrize(
    "name, code",
    [("toy_syntax.py", 15), ("toy_missing.py", 16), ("toy_forbidden.py", 17), ("../../hostile/segfault.py", 18)],
)
def test_submit_exit_code_follows_the_verdict(toy_bank, name, code):
    assert run("submit", str(SUBMISSIONS / name), "-c", "toy-sum").exit_code == code


@pytest.mark.parametrize(
    "args, message",
    [
        (["submit", "nope.py", "-c", "toy-sum"], "Error: nope.py: no such file"),
        (["submit", str(TOY / "prompt.md"), "-c", "toy-sum"], "a submission is a Python file (.py)"),
        (
            ["submit", str(TOY / "reference.py"), "-c", "no-such"],
            "Error: unknown challenge 'no-such' (known: toy-sum, toy-tensor)",
        ),
    ],
)
def test_bad_input_is_one_line_exit_1(toy_bank, args, message):
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert message in result.output and len(result.output.strip().splitlines()) == 1


def test_missing_gpu_is_a_clear_error(toy_bank):
    from grader.judge import nvidia_present

    if nvidia_present():
        pytest.skip("this machine has a GPU")
    result = CliRunner().invoke(cli, ["submit", str(TOY / "reference.py"), "-c", "toy-sum", "--device", "cuda"])
    assert result.exit_code == 1
    assert result.output.strip() == "Error: --device cuda: no NVIDIA GPU on this machine (use --device auto or cpu)"


def test_misuse_exits_2():
    assert CliRunner().invoke(cli, ["submit", "x.py", "--device", "tpu", "-c", "a"]).exit_code == 2
    assert CliRunner().invoke(cli, ["submit", "a.py", "b.py"]).exit_code == 2
    assert CliRunner().invoke(cli, ["reset"]).exit_code == 2


def test_validate_prints_table_and_fails_on_a_surviving_mutant(toy_bank, tmp_path):
    import shutil

    bank = tmp_path / "bank"
    shutil.copytree(TOY_CHALLENGES, bank)
    shutil.copy(bank / "toy-sum" / "reference.py", bank / "toy-sum" / "mutants" / "not_a_bug.py")
    result = run("validate", str(bank / "toy-sum"), str(bank / "toy-tensor"))
    assert result.exit_code == 1
    rows = result.output.splitlines()
    assert rows[0].split() == ["challenge", "reference", "stub", "mutants", "killed"]
    assert rows[1].split() == ["toy-sum", "Accepted", "0/8", "1/2", "FAIL"]
    assert rows[2].split() == ["toy-tensor", "Accepted", "0/10", "2/2", "ok"]
    assert "  - mutant not_a_bug: Accepted (the specs must reject it)" in result.output
    assert rows[-1] == "1/2 challenges valid"


def test_validate_json(toy_bank):
    result = run("validate", str(TOY), "--json")
    assert result.exit_code == 0
    (check,) = json.loads(result.output)
    assert check["ok"] and check["reference"] == "Accepted" and check["mutants_killed"] == check["mutants_total"] == 1


def test_validate_reports_a_broken_folder(tmp_path):
    broken = tmp_path / "toy-sum"
    import shutil

    shutil.copytree(TOY, broken)
    (broken / "prompt.md").write_text("# {{ titel }}\n")
    result = run("validate", str(broken))
    assert result.exit_code == 1
    assert "prompt.md: the prompt does not render: 'titel' is undefined" in result.output


def test_readme_commands_exist():
    """Every `lmprep <command>` the README shows is a real command with help."""
    from tests.conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    used = set(__import__("re").findall(r"\blmprep ([a-z][a-z-]+)", readme))
    assert used, "the README shows no lmprep command"
    for name in used:
        assert name in cli.commands, f"README mentions `lmprep {name}`, which does not exist"
        assert run(name, "--help").exit_code == 0


def test_validate_flags_an_unknown_prerequisite(tmp_path):
    import shutil

    folder = tmp_path / "toy-sum"
    shutil.copytree(TOY, folder)
    toml = folder / "challenge.toml"
    toml.write_text(toml.read_text().replace("order = 1", 'order = 1\nprerequisites = ["nope"]'))
    result = run("validate", str(folder), "--json")
    (check,) = json.loads(result.output)
    assert f"{toml}: prerequisites: no challenge 'nope' beside it" in check["problems"]


def test_serve_starts_shows_and_stops_the_grading_server(tmp_path, monkeypatch):
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("LMPREP_RUNTIME_DIR", str(runtime))
    assert (
        run("serve", "--status").output
        == "no grading server runs (the next grading starts one, unless LMPREP_WARM=0)\n"
    )
    try:
        started = run("serve")
        assert started.exit_code == 0 and started.output.startswith("grading server: pid ")
        state = json.loads(run("serve", "--status", "--json").output)
        assert state["running"] == 0 and "torch" in state["preloaded"] and state["socket"].startswith(str(runtime))
        assert CliRunner().invoke(cli, ["serve", "--status", "--stop"]).exit_code == 2
    finally:
        stopped = run("serve", "--stop")
    assert stopped.output == f"stopped the grading server (pid {state['pid']})\n"
    assert run("serve", "--stop").output == "no grading server runs\n"
