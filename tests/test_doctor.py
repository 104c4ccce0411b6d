"""`lmprep doctor`: the machine and the isolation level, from checks run now."""

import json

from click.testing import CliRunner

from grader import sandbox
from lmprep import doctor
from lmprep.cli import cli


def run(*args):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_doctor_states_what_the_kernel_gives():
    result = run("doctor", "--json")
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    checks = {c["area"]: c for c in found["checks"]}
    probe = sandbox.probe()
    assert ("landlock-v" in found["level"]) == probe["landlock"]
    assert ("netns+userns" in found["level"]) == probe["namespaces"]
    assert checks["files"]["ok"] == probe["landlock"]
    assert checks["network"]["ok"] == (probe["landlock_tcp"] or probe["namespaces"])
    assert checks["database"]["ok"] and checks["database"]["detail"].endswith(("journal wal", "journal delete"))
    assert checks["processes"]["ok"] == (not probe["root"])


def test_doctor_text_lists_every_check():
    result = run("doctor")
    lines = result.output.splitlines()
    assert lines[0].startswith("isolation level: process+rlimits")
    areas = [line.split()[1] for line in lines[1:]]
    assert areas == ["lmprep", "torch", "gpu", "database", "files", "network", "signals", "namespaces", "processes"]


def test_without_a_sandbox_doctor_says_what_is_not_isolated(monkeypatch, tmp_path):
    none = {
        "namespaces": {"applied": False, "why": "unprivileged namespaces refused (Operation not permitted)"},
        "landlock": {"applied": False, "abi": 0, "why": "the kernel has no Landlock (Linux 5.13+, enabled as an LSM)"},
        "read_hidden": False,
        "read_submission": True,
        "write_outside": False,
        "write_home": True,
        "tcp": False,
        "signal": False,
    }
    monkeypatch.setattr(sandbox, "self_test", lambda: none)
    found = doctor.diagnose(tmp_path / "lmprep.db")
    assert found.level == "process+rlimits"
    checks = {c.area: c for c in found.checks}
    assert checks["files"].detail == (
        "not isolated: a submission can read and write your files "
        "(the kernel has no Landlock (Linux 5.13+, enabled as an LSM))"
    )
    assert checks["network"].detail == "TCP is open to submissions" and not checks["signals"].ok
    result = run("doctor")
    assert result.exit_code == 0  # a weaker sandbox is stated, not an error


def test_a_sandbox_that_cannot_run_is_an_error(monkeypatch):
    monkeypatch.setattr(sandbox, "self_test", lambda: {"error": "ImportError: no grader"})
    result = run("doctor")
    assert result.exit_code == 1
    assert "the sandbox test failed to run: ImportError: no grader" in result.output
