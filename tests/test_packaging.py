"""A non-editable install serves the challenges and notes from inside the wheel."""

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    where = tmp_path_factory.mktemp("venv")
    # system site-packages lend torch and the build backend; the project itself is installed fresh
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(where)], check=True)
    python = where / "bin" / "python"
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", str(ROOT)],
        check=True,
        capture_output=True,
    )
    return where


def test_installed_package_ships_its_content(venv, tmp_path):
    python = venv / "bin" / "python"
    code = (
        "import lmprep, lmprep.bank as b; "
        "print(lmprep.__file__); print(b.challenges_dir()); print(' '.join(p.name for p in b.challenge_paths()))"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True, cwd=tmp_path)
    module, folder, names = out.stdout.splitlines()
    assert module.startswith(str(venv)) and folder.startswith(str(venv))
    assert names.split() == sorted(p.parent.name for p in (ROOT / "challenges").glob("*/challenge.toml"))
    assert Path(folder).joinpath("..", "reference").resolve().is_dir()


def test_installed_cli_grades_a_shipped_challenge(venv, tmp_path):
    installed = Path(
        subprocess.run(
            [str(venv / "bin" / "python"), "-c", "import lmprep.bank as b; print(b.challenges_dir())"],
            capture_output=True,
            text=True,
            check=True,
            cwd=tmp_path,
        ).stdout.strip()
    )
    reference = installed / "temperature-softmax" / "reference.py"
    result = subprocess.run(
        [str(venv / "bin" / "lmprep"), "submit", str(reference), "-c", "temperature-softmax", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert '"verdict": "Accepted"' in result.stdout
