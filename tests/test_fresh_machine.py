"""What a fresh machine needs from the grader (issue: "A fresh machine grades").

- A challenge library that is not installed is skipped, never an Internal Error.
- An Internal Error says what broke: a spec file that cannot be collected, an oracle that
  cannot be imported, each with its cause in one line and what to do about it.
- The memory budget sits on top of what the worker's libraries mapped, so a library
  that maps 3 GiB (as the CUDA build of torch does) still grades, and an allocation past
  the budget is still Memory Limit Exceeded.
- A submission that crashes the worker in every test is graded in bounded time.
- The worker reads only the packages of a folder put on sys.path, not its tests or .git.
"""

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader import grade, sandbox
from grader.judge import REINSTALL
from tests.conftest import ROOT, TOY_CHALLENGES

BALLAST = "tests.data.libraries.ballast"  # maps 3 GiB on import (tests/data/libraries/ballast.py)


def copy_challenge(tmp_path: Path, slug: str, *, toml: dict[str, str] | None = None) -> Path:
    """A copy of a toy challenge with some challenge.toml lines replaced (key -> line)."""
    target = tmp_path / "challenges" / slug
    shutil.copytree(TOY_CHALLENGES / slug, target)
    path = target / "challenge.toml"
    lines = path.read_text().splitlines()
    for key, line in (toml or {}).items():
        lines = [x for x in lines if not x.startswith(f"{key} =")] + [line]
    path.write_text("\n".join(lines) + "\n")
    return target


def test_a_library_that_is_not_installed_is_skipped(tmp_path):
    challenge = copy_challenge(tmp_path, "toy-sum", toml={"libraries": 'libraries = ["lmprep_no_such_library.sub"]'})
    report = grade(challenge, challenge / "reference.py")
    assert report.verdict == "Accepted", report.message
    assert report.limits["libraries_not_installed"] == ["lmprep_no_such_library.sub"]


def test_a_spec_that_cannot_be_collected_says_why(tmp_path):
    challenge = copy_challenge(tmp_path, "toy-sum")
    spec = challenge / "spec" / "test_sum.py"
    spec.write_text("import lmprep_missing_dependency\n" + spec.read_text())
    report = grade(challenge, challenge / "reference.py")
    assert report.verdict == "Internal Error"
    assert report.message == (
        "the specs could not be collected: test_sum.py: "
        f"ModuleNotFoundError: No module named 'lmprep_missing_dependency' ({REINSTALL})"
    )


def test_an_oracle_that_cannot_be_imported_says_why(tmp_path):
    challenge = copy_challenge(tmp_path, "toy-sum")
    (challenge / "reference.py").write_text("import lmprep_missing_oracle\n" + (challenge / "reference.py").read_text())
    report = grade(challenge, TOY_CHALLENGES / "toy-sum" / "reference.py")
    assert report.verdict == "Internal Error"
    assert report.message == (
        "the grader could not load the specs' oracles: "
        f"ModuleNotFoundError: No module named 'lmprep_missing_oracle' ({REINSTALL})"
    )


@pytest.fixture
def ballasted(tmp_path) -> Path:
    """toy-tensor whose worker maps 3 GiB before the limit, with a 512 MB budget."""
    return copy_challenge(
        tmp_path,
        "toy-tensor",
        toml={
            "libraries": f'libraries = ["torch", "{BALLAST}"]',
            "memory_limit_mb": "memory_limit_mb = 512",
            "devices": 'devices = ["cpu"]',
        },
    )


def test_a_library_that_maps_3_gib_still_grades(ballasted):
    report = grade(ballasted, ballasted / "reference.py", device="cpu")
    assert report.verdict == "Accepted", report.message
    memory = report.limits["memory"]
    assert memory["mechanism"] == "address space" and memory["budget_mb"] == 512
    assert memory["baseline_mb"] >= 3 << 10  # the ballast counted in the baseline, not in the budget
    assert memory["limit_mb"] - memory["baseline_mb"] in (512, 513)  # rounded down to MB each
    assert any(n.startswith("memory: 512 MB for the submission") for n in report.isolation["notes"])


def test_an_allocation_past_the_budget_is_still_memory_limit_exceeded(ballasted, tmp_path):
    greedy = tmp_path / "greedy.py"
    source = (ballasted / "reference.py").read_text()
    greedy.write_text(
        source.replace(
            "    return x * factor\n",
            "    hog = torch.ones((512 + 1024) << 18)  # 1.5 GiB of float32: 1 GiB past the budget\n"
            "    return x * factor + hog[:1] * 0\n",
            1,
        )
    )
    report = grade(ballasted, greedy, device="cpu")
    assert report.verdict == "Memory Limit Exceeded", report.message


def test_a_submission_that_crashes_in_every_test_is_graded_in_bounded_time(tmp_path):
    """temperature-softmax imports numpy, scipy, matplotlib and torch in each new worker."""
    challenge = ROOT / "challenges" / "temperature-softmax"
    crasher = tmp_path / "crasher.py"
    crasher.write_text(
        "import ctypes\n\n\n"
        "def softmax_with_temperature(logits, temperature=1.0):\n    ctypes.string_at(0)\n\n\n"
        "def plot_temperature_effect(logits, temperatures):\n    ctypes.string_at(0)\n"
    )
    started = time.perf_counter()
    report = grade(challenge, crasher, device="cpu")
    elapsed = time.perf_counter() - started
    assert report.verdict == "Crashed"
    assert report.timings["workers_started"] <= 3  # one, then one per crash until the second
    start_s = report.timings["worker_ready_s"]
    assert elapsed < 2 * (start_s + 10.0) + 10, report.timings
    rest = [t for t in report.tests if t.message.startswith("not run")]
    assert len(rest) == len(report.tests) - 2
    assert (
        rest[0].message
        == "not run: the worker died in 2 earlier tests (last: the process was killed by signal SIGSEGV)"
    )


def test_a_checkout_on_sys_path_lends_only_its_packages():
    """An editable install puts the checkout on sys.path; its tests, content and .git stay out."""
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from grader import sandbox; print(*sandbox.python_roots())"
    roots = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True
    ).stdout.split()
    inside = sorted(Path(r).relative_to(ROOT).as_posix() for r in roots if Path(r).is_relative_to(ROOT))
    assert "grader" in inside and "lmprep" in inside
    assert not [r for r in inside if r.split("/")[0] in ("tests", "challenges", ".git", "reference", "bench", ".")]
    assert sandbox.python_roots()  # and in this process too


def test_lmprep_hides_the_content_and_the_database_not_the_folder_around_them(tmp_path, toy_bank, monkeypatch):
    """$LMPREP_HOME may be a folder that holds Python itself: only the database is cut out."""
    from lmprep import bank
    from lmprep.grading import hidden_paths

    monkeypatch.setenv("LMPREP_HOME", str(Path(sys.prefix).parent))
    hidden = hidden_paths(tmp_path / "my.db")
    db = (tmp_path / "my.db").resolve()
    assert hidden == [toy_bank.resolve(), (bank.content_root() / "challenges").resolve(), db] + [
        db.with_name("my.db" + s) for s in ("-wal", "-shm", "-journal")
    ]


def test_a_link_cannot_let_in_a_folder_split_around_hidden_content(tmp_path):
    """A venv has lib64 -> lib: allowing lib64 whole would allow lib, content and all."""
    (tmp_path / "lib" / "content").mkdir(parents=True)
    (tmp_path / "lib" / "code").mkdir()
    (tmp_path / "lib64").symlink_to("lib")
    allowed = sandbox.readable_trees([str(tmp_path)], [tmp_path / "lib" / "content"])
    assert allowed == [tmp_path / "lib" / "code"]


def test_no_conftest_from_above_the_specs_runs_in_the_judge(tmp_path):
    """A bank inside a project (or the checkout's tests/) may sit under a conftest.py:
    the judge must not load it (it once made warm judges kill each other)."""
    challenge = copy_challenge(tmp_path, "toy-sum")
    (challenge.parent / "conftest.py").write_text(
        "import pytest\n\n\n@pytest.fixture(autouse=True)\ndef sabotage():\n    raise RuntimeError('not the judge')\n"
    )
    for warm in (False, True):
        report = grade(challenge, challenge / "reference.py", warm=warm)
        assert report.verdict == "Accepted", report.message
