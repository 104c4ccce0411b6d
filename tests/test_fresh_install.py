"""A newcomer's install: a virtual environment of its own (no system site packages), torch,
then lmprep with no dev extras, and the installed CLI grades every challenge.

Two modes, each in its own venv outside the checkout, built once per module run:

- ``wheel``: ``pip install <copy>``, where the copy holds the checkout's tracked files and
  its untracked, not ignored ones, as they are on disk (`git ls-files --cached --others
  --exclude-standard`). That is what a commit of the work in progress would hold: edits not
  yet committed are tested too, while ignored leftovers of a developer's checkout (build/,
  caches, a stray lmprep.db) cannot hide a file the wheel forgot, and `.git` stays out.
- ``editable``: ``pip install -e <checkout>``, in place, as a user does after
  ``git clone``; an editable install must read its content from the checkout and leave no
  copy of it where a submission could read it (site-packages).

In each mode the installed `lmprep` (cwd, LMPREP_HOME and LMPREP_WORKSPACE in a temporary
folder) must: print its version and pass `lmprep doctor`; find its content where the mode
says; grade every code challenge's reference Accepted and its stub rejected (not Accepted,
not Internal Error: the grader must not lack a library the specs or a challenge import);
and grade the hostile file-system walk (tests/hostile/walks_for_hidden_files.py) Accepted,
i.e. the worker can open no reference, spec, mutant, progress database or `.git`.

Torch is installed as `pip install torch==2.13.0`, the CPU build on this machine's disk
(pip's find-links). The README tells CPU users `--index-url .../whl/cpu`, which is
unreachable offline; the rest (click, jinja2, numpy, matplotlib, hypothesis, ...) comes
from the package registry, so these tests need it. The module takes ~6 minutes on a
2-core machine, most of it pip and the 2 x 38 gradings, run two at a time.

This module took over tests/test_packaging.py (a --system-site-packages venv with a
--no-deps wheel): its checks, the content served from inside the wheel and the installed
CLI grading a shipped challenge, are the wheel mode's here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grader import sandbox
from grader.challenge import load as load_challenge
from tests.conftest import HOSTILE, ROOT, SLOW_CHALLENGES

MODES = ["wheel", "editable"]
TORCH = "torch==2.13.0"  # the CPU build in /opt/wheels (see the module docstring)
EXIT_ACCEPTED, EXIT_INTERNAL_ERROR = 0, 19  # the README's verdict table
CHECKOUT_CHALLENGES = sorted(p.parent.name for p in (ROOT / "challenges").glob("*/challenge.toml") if p.is_file())
CODE_CHALLENGES = [slug for slug in CHECKOUT_CHALLENGES if load_challenge(ROOT / "challenges" / slug).kind == "code"]
WALKER = HOSTILE / "walks_for_hidden_files.py"


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kwargs)


def _tail(result: subprocess.CompletedProcess, n: int = 3000) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout[-n:]}\n--- stderr\n{result.stderr[-n:]}"


def _pip(python: Path, *args: str) -> None:
    result = _run([python, "-m", "pip", "install", "--disable-pip-version-check", *args], timeout=900)
    assert result.returncode == 0, f"pip install {' '.join(args)} failed:\n{_tail(result)}"


def _copy_of_checkout(target: Path) -> Path:
    """The checkout's files as a commit of the work in progress would hold them."""
    listing = _run(["git", "-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"], check=True)
    for name in filter(None, listing.stdout.split("\0")):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree stays out
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


class Install:
    """A venv with lmprep installed one way, and a user (home, workspace, cwd) to run it."""

    def __init__(self, mode: str, where: Path):
        self.mode, self.where = mode, where
        self.venv = where / "venv"
        self.python = self.venv / "bin" / "python"
        self.home, self.workspace, self.cwd = where / "home", where / "workspace", where / "cwd"
        for folder in (self.home, self.workspace, self.cwd):
            folder.mkdir(parents=True, exist_ok=True)
        self.db = self.home / "lmprep.db"

    def build(self) -> Install:
        _run([sys.executable, "-m", "venv", self.venv], check=True)  # no --system-site-packages
        _pip(self.python, TORCH)
        if self.mode == "wheel":
            _pip(self.python, _copy_of_checkout(self.where / "checkout"))
        else:
            _pip(self.python, "-e", ROOT)
        return self

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("LMPREP_", "PYTHON", "VIRTUAL_ENV"))}
        env.update(
            PATH=f"{self.venv / 'bin'}{os.pathsep}{env.get('PATH', '')}",
            VIRTUAL_ENV=str(self.venv),
            LMPREP_HOME=str(self.home),
            LMPREP_WORKSPACE=str(self.workspace),
            # the session's runtime folder: the warm grading servers the venvs start are stopped with it
            LMPREP_RUNTIME_DIR=os.environ["LMPREP_RUNTIME_DIR"],
        )
        env.update(extra)
        return env

    def lmprep(self, *args, timeout: float = 900, **env: str) -> subprocess.CompletedProcess:
        return _run([self.venv / "bin" / "lmprep", *args], cwd=self.cwd, env=self.env(**env), timeout=timeout)

    def python_says(self, code: str) -> str:
        result = _run([self.python, "-c", code], cwd=self.cwd, env=self.env())
        assert result.returncode == 0, _tail(result)
        return result.stdout.strip()

    def challenges_dir(self) -> Path:
        return Path(self.python_says("import lmprep.bank as b; print(b.challenges_dir())"))

    def submit(self, source: Path, slug: str, **env: str) -> Graded:
        """`lmprep submit FILE -c SLUG --json` on a copy of ``source`` in the workspace."""
        target = self.workspace / slug / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
        return Graded(self.lmprep("submit", target, "-c", slug, "--device", "cpu", "--json", **env))


class Graded:
    """One `lmprep submit --json`: its exit code and Report (None if none was printed)."""

    def __init__(self, result: subprocess.CompletedProcess):
        self.result = result
        try:
            self.report = json.loads(result.stdout)
        except ValueError:
            self.report = None
        self.verdict = (self.report or {}).get("verdict", "(no report)")

    def __str__(self) -> str:
        if self.report is None:
            return f"no Report printed: {_tail(self.result)}"
        failed = [
            f"{t.get('name') or t.get('id')}: {t.get('outcome')}"
            for t in self.report.get("tests", [])
            if t.get("outcome") not in ("passed", "skipped")
        ]
        return "\n".join(
            [
                f"exit {self.result.returncode}: {self.verdict}: {self.report.get('message', '')[:2000]}",
                f"{len(failed)} tests failed: {'; '.join(failed[:8])}" if failed else "no test failed",
                f"output: {self.report.get('output', '')[-600:]}",
                f"stderr: {self.result.stderr[-600:]}",
            ]
        )


@pytest.fixture(scope="module", params=MODES)
def install(request, tmp_path_factory) -> Install:
    return Install(request.param, tmp_path_factory.mktemp(f"fresh-{request.param}")).build()


@pytest.fixture(scope="module")
def gradings(install) -> dict[tuple[str, str], Graded]:
    """Every code challenge's reference and stub, graded by the installed CLI, two at a time."""
    folder = install.challenges_dir()
    jobs = [(slug, which) for slug in CODE_CHALLENGES for which in ("reference", "stub")]
    with ThreadPoolExecutor(2) as pool:
        graded = pool.map(lambda job: install.submit(folder / job[0] / f"{job[1]}.py", job[0]), jobs)
        return dict(zip(jobs, graded))


def test_the_bank_has_code_challenges():
    assert len(CODE_CHALLENGES) >= 19, CODE_CHALLENGES


def test_version_and_doctor(install):
    version = install.lmprep("--version", timeout=120)
    assert version.returncode == 0 and version.stdout.startswith("lmprep, version "), _tail(version)
    doctor = install.lmprep("doctor", timeout=300)
    assert doctor.returncode == 0, _tail(doctor)


def test_content_comes_from_where_the_mode_says(install):
    module = Path(install.python_says("import lmprep; print(lmprep.__file__)"))
    folder = install.challenges_dir()
    names = install.python_says("import lmprep.bank as b; print(' '.join(p.name for p in b.challenge_paths()))")
    assert names.split() == CHECKOUT_CHALLENGES
    shipped = sorted(install.venv.glob("lib/python*/site-packages/lmprep/_content"))
    if install.mode == "wheel":
        assert module.is_relative_to(install.venv) and folder.is_relative_to(install.venv), (module, folder)
        assert folder.joinpath("..", "reference").resolve().is_dir()
    else:
        assert module == ROOT / "lmprep" / "__init__.py" and folder == ROOT / "challenges", (module, folder)
        # a copy of the content in site-packages is one more place a submission could read it from
        assert shipped == [], f"an editable install left a copy of the content in {shipped}"


@pytest.mark.parametrize("slug", CODE_CHALLENGES)
def test_reference_is_accepted(gradings, slug):
    graded = gradings[slug, "reference"]
    assert graded.verdict == "Accepted" and graded.result.returncode == EXIT_ACCEPTED, str(graded)


@pytest.mark.parametrize("slug", CODE_CHALLENGES)
def test_stub_is_rejected_for_the_learner(gradings, slug):
    graded = gradings[slug, "stub"]
    assert graded.report is not None, str(graded)
    assert graded.verdict not in ("Accepted", "Internal Error"), str(graded)
    assert graded.result.returncode not in (EXIT_ACCEPTED, EXIT_INTERNAL_ERROR, 1, 2), str(graded)


def test_hostile_walk_finds_nothing_to_read(install):
    probe = sandbox.probe()
    if os.environ.get("LMPREP_SANDBOX", "on") == "off" or not probe["landlock"]:
        pytest.skip("no Landlock (kernel without it, or LMPREP_SANDBOX=off)")
    walker = install.where / "hostile" / WALKER.name
    walker.parent.mkdir(exist_ok=True)
    opened = install.lmprep("progress", "--json", timeout=120)  # the database exists: the walk aims at it
    assert opened.returncode == 0 and install.db.is_file(), _tail(opened)
    walker.write_text(WALKER.read_text().replace("{{DATABASE}}", str(install.db)))
    graded = install.submit(walker, "toy-walk", LMPREP_CHALLENGES=str(SLOW_CHALLENGES))
    assert graded.verdict == "Accepted" and graded.result.returncode == EXIT_ACCEPTED, str(graded)
