"""`lmprep doctor`: the machine and the isolation level, from checks run now."""

import json
import re

from click.testing import CliRunner

from grader import Report, sandbox
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
    assert areas == [
        "lmprep",
        "dependencies",
        "torch",
        "gpu",
        "database",
        "grading",
        "files",
        "content",
        "network",
        "signals",
        "namespaces",
        "processes",
    ]
    checks = dict(line.split(maxsplit=2)[1:] for line in lines[1:])
    assert checks["grading"].startswith("stable-softmax's reference Accepted in ")
    assert "MB on top (address space)" in checks["grading"]
    assert re.fullmatch(r"no challenge content or progress database readable in \d+ folders walked", checks["content"])


def test_doctor_names_content_a_submission_could_read(monkeypatch):
    """The walk finds what the allow-list lets through, wherever it is."""
    leaked = "/somewhere/challenges/kv-cache/reference.py"
    monkeypatch.setattr(sandbox, "self_test", lambda **_: {**SANDBOXED, "exposed": [leaked], "walked": 12})
    monkeypatch.setattr(doctor, "_grading_check", lambda db: doctor.Check("grading", True, "not tried here"))
    result = run("doctor", "--json")
    checks = {c["area"]: c for c in json.loads(result.output)["checks"]}
    assert not checks["content"]["ok"] and checks["content"]["detail"] == f"readable by a submission: {leaked}"


def test_a_missing_dependency_or_a_failed_grading_is_broken(monkeypatch):
    real = doctor.metadata.requires
    monkeypatch.setattr(
        doctor.metadata, "requires", lambda name: [*real(name), "lmprep-no-such-dependency>=1", "ruff; extra == 'dev'"]
    )
    monkeypatch.setattr(sandbox, "self_test", lambda **_: SANDBOXED)
    monkeypatch.setattr(
        doctor, "grade", lambda *a, **k: Report(verdict="Internal Error", challenge="stable-softmax", message="boom")
    )
    result = run("doctor")
    assert result.exit_code == 1
    assert (
        "-- dependencies not installed: lmprep-no-such-dependency (reinstall lmprep: pip install lmprep)"
        in result.output
    )
    assert "-- grading      stable-softmax's reference: Internal Error: boom" in result.output


SANDBOXED = {
    "namespaces": {"applied": True, "why": "user and network namespaces"},
    "landlock": {"applied": True, "abi": 7, "tcp": True, "signals": True},
    "read_hidden": True,
    "read_submission": True,
    "write_outside": True,
    "write_home": True,
    "tcp": True,
    "signal": True,
    "exposed": [],
    "walked": 12,
}


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
    monkeypatch.setattr(sandbox, "self_test", lambda **_: none)
    monkeypatch.setattr(doctor, "_grading_check", lambda db: doctor.Check("grading", True, "not tried here"))
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
    monkeypatch.setattr(sandbox, "self_test", lambda **_: {"error": "ImportError: no grader"})
    monkeypatch.setattr(doctor, "_grading_check", lambda db: doctor.Check("grading", True, "not tried here"))
    result = run("doctor")
    assert result.exit_code == 1
    assert "the sandbox test failed to run: ImportError: no grader" in result.output
