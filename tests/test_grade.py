"""`lmprep grade`, `grade merge` and `stats`: a class graded into a gradebook, resumably,
shard by shard, with hostile classmates, and nothing written into a progress database."""

import csv
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader import grade
from lmprep import gradebook as gb
from lmprep.cli import cli
from lmprep.errors import LmprepError
from tests.conftest import ROOT, TOY_CHALLENGES

TOY = TOY_CHALLENGES / "toy-sum"
REFERENCE = (TOY / "reference.py").read_text()
OFF_BY_ONE = (TOY / "mutants" / "off_by_one.py").read_text()
NO_ACCUMULATOR = "def total(xs):\n    return sum(xs)\n"

# A classmate that searches the way an attacker would (every folder it can list under the
# usual roots) for the class's other files and the gradebook, and rewrites what it finds.
REWRITER = textwrap.dedent(
    """
    import os

    WRONG = "def total(xs):\\n    return -1\\n"
    hits = []
    roots = ["/tmp", "/home", "/root", "/var/tmp", os.getcwd(), os.path.expanduser("~")]
    for root in roots:
        for folder, dirs, files in os.walk(root):
            for name in files:
                path = os.path.join(folder, name)
                if path == __file__:
                    continue
                if name.endswith(".py") and ("roster" in folder or "lmprep-class-" in folder):
                    try:
                        with open(path, "w") as fh:
                            fh.write(WRONG)
                        hits.append(path)
                    except OSError:
                        pass
                elif name.startswith("gradebook.db"):
                    try:
                        with open(path, "wb") as fh:
                            fh.write(b"not a database")
                        hits.append(path)
                    except OSError:
                        pass
    print("rewrote", hits)
    """
)


def write_class(root: Path) -> dict[str, str]:
    """A small class: folders of students (one with two attempts) and flat files."""
    files = {
        "roster/alice/answer.py": REFERENCE,
        "roster/bob/answer.py": OFF_BY_ONE,
        "roster/carol/attempt1.py": NO_ACCUMULATOR,
        "roster/carol/attempt2.py": REFERENCE + "\n# carol, second try\n",
        "roster/dave.py": REFERENCE,  # the same bytes as alice's
        "roster/mallory/answer.py": REFERENCE + REWRITER,
        "roster/erin/answer.py": "import os\nos._exit(0)\n",
        "roster/frank/notes.txt": "not a submission",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return files


def invoke(*args):
    result = CliRunner().invoke(cli, list(args))
    return result


@pytest.fixture
def roster(tmp_path, toy_bank, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_class(tmp_path)
    return tmp_path / "roster"


def test_a_class_is_graded_into_a_gradebook_as_submit_grades_each_file(roster, tmp_path):
    originals = {p: p.read_bytes() for p in roster.rglob("*.py")}
    result = invoke("grade", str(roster), "-c", "toy-sum", "-o", "gradebook.csv")
    assert result.exit_code == 0, result.output  # students failing is not the command failing
    with open(tmp_path / "gradebook.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by_file = {Path(r["file"]).relative_to(roster).as_posix(): r for r in rows}
    assert sorted(by_file) == sorted(
        [
            "alice/answer.py",
            "bob/answer.py",
            "carol/attempt1.py",
            "carol/attempt2.py",
            "dave.py",
            "mallory/answer.py",
            "erin/answer.py",
        ]
    )
    assert {r["student"] for r in rows} == {"alice", "bob", "carol", "dave", "mallory", "erin"}
    # the hostile classmate changed nothing but its own row: every file is as handed in
    assert {p: p.read_bytes() for p in roster.rglob("*.py")} == originals
    for name, row in sorted(by_file.items(), key=lambda kv: kv[0].startswith("mallory")):
        assert set(gb.COLUMNS) <= set(row)
        assert row["lmprep_version"] and row["challenge_hash"] == gb.bank.get("toy-sum").content_hash()
        # the verdict `lmprep submit` gives the same file, graded alone
        alone = grade(TOY, roster / name)
        assert row["verdict"] == alone.verdict, name
        assert float(row["score"]) == alone.score, name
        assert [t["outcome"] for t in json.loads(row["tests"])] == [t.outcome for t in alone.tests], name
    assert by_file["alice/answer.py"]["verdict"] == "Accepted"
    assert by_file["bob/answer.py"]["verdict"] == "Wrong Answer"
    assert by_file["carol/attempt1.py"]["verdict"] == "Interface Error"
    # the summary says what the class got wrong
    assert "Tests failed most" in result.output and "sums a small list" in result.output
    assert "7 submissions from 6 students" in result.output
    # nothing in anyone's progress database
    assert not (Path(os.environ["LMPREP_HOME"]) / "lmprep.db").exists()


def test_a_rerun_grades_only_what_is_new_and_identical_files_once(roster, tmp_path):
    first = json.loads(invoke("grade", str(roster), "-c", "toy-sum", "--json").output)
    assert first["submissions"] == 7 and first["identical_files"] == 2
    assert first["graded_now"] == 6  # alice's and dave's identical files: one grading
    again = json.loads(invoke("grade", str(roster), "-c", "toy-sum", "--json").output)
    assert again["graded_now"] == 0 and again["from_gradebook"] == 7
    assert again["verdicts"] == first["verdicts"]
    (roster / "grace.py").write_text(OFF_BY_ONE + "\n# late\n")
    late = json.loads(invoke("grade", str(roster), "-c", "toy-sum", "--json").output)
    assert (late["graded_now"], late["submissions"]) == (1, 8)


def test_a_run_killed_half_way_loses_no_row_and_grades_none_twice(tmp_path, toy_bank):
    roster = tmp_path / "class"
    roster.mkdir()
    slow = "import time\ntime.sleep(0.4)\n"  # each grading takes a while: the kill lands mid-run
    for i in range(12):
        (roster / f"s{i:02d}.py").write_text(slow + REFERENCE + f"\n# student {i}\n")
    book = tmp_path / "gradebook.db"
    cmd = [sys.executable, "-m", "lmprep", "grade", str(roster), "-c", "toy-sum", "-j", "1", "--gradebook", str(book)]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )

    def results() -> int:
        try:
            with sqlite3.connect(f"file:{book}?mode=ro", uri=True) as conn:
                return conn.execute("SELECT count(*) FROM results").fetchone()[0]
        except sqlite3.Error:
            return 0

    deadline = time.monotonic() + 120
    while results() < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kept = results()
    assert 3 <= kept < 12, "the kill should land half-way"
    rerun = subprocess.run([*cmd, "--json"], env=env, capture_output=True, text=True, timeout=300, check=True)
    summary = json.loads(rerun.stdout)
    assert summary["graded_now"] == 12 - kept  # none graded twice
    assert summary["submissions"] == 12 and summary["verdicts"] == {"Accepted": 12}  # no row lost
    with sqlite3.connect(book) as conn:
        assert conn.execute("SELECT count(*) FROM results").fetchone()[0] == 12


def test_shards_split_the_class_and_merge_gives_the_whole_gradebook(roster, tmp_path):
    invoke("grade", str(roster), "-c", "toy-sum", "-o", "whole.json", "--gradebook", "whole.db")
    parts = []
    for i in range(3):
        out = f"part-{i}.json"
        result = invoke(
            "grade", str(roster), "-c", "toy-sum", "--shard", f"{i}/3", "-o", out, "--gradebook", f"node{i}.db"
        )
        assert result.exit_code == 0, result.output
        parts.append(out)
    shards = [{(r["student"], r["file"]) for r in json.loads(Path(p).read_text())} for p in parts]
    assert sum(map(len, shards)) == 7 and set.union(*shards) | set() == {
        (r["student"], r["file"]) for r in json.loads(Path("whole.json").read_text())
    }
    # a shard graded twice (a retried array task) is reported once
    result = invoke("grade", "merge", *parts, parts[0], "-o", "merged.json")
    assert result.exit_code == 0, result.output
    key = lambda r: (r["student"], r["file"], r["verdict"], r["score"])  # noqa: E731
    merged = json.loads(Path("merged.json").read_text())
    assert sorted(map(key, merged)) == sorted(map(key, json.loads(Path("whole.json").read_text())))
    assert not any("conflict" in r for r in merged)


def test_merge_flags_a_submission_graded_differently(roster, tmp_path):
    invoke("grade", str(roster), "-c", "toy-sum", "-o", "a.csv")
    rows = list(csv.DictReader(open("a.csv", newline="")))
    rows[0]["verdict"], rows[0]["score"] = "Accepted", "99"
    with open("b.csv", "w", newline="") as fh:
        out = csv.DictWriter(fh, fieldnames=list(rows[0]))
        out.writeheader()
        out.writerows(rows)
    result = invoke("grade", "merge", "a.csv", "b.csv", "-o", "m.csv", "--json")
    found = json.loads(result.stdout)
    assert found["rows"] == 7 and len(found["conflicts"]) == 1
    merged = list(csv.DictReader(open("m.csv", newline="")))
    flagged = [r for r in merged if r["conflict"]]
    assert len(flagged) == 1 and "score" in flagged[0]["conflict"] and "b.csv" in flagged[0]["conflict"]


def test_stats_say_what_the_class_got_wrong_and_which_mistake_it_resembles(roster, tmp_path):
    invoke("grade", str(roster), "-c", "toy-sum")
    found = json.loads(invoke("stats", "toy-sum", "--json").output)
    assert found["submissions"] == 7 and found["students"] == 6
    assert found["median_attempts"] == 1  # carol's two attempts, everyone else's one
    assert found["verdicts"]["Accepted"] >= 3
    off = next(m for m in found["mutants"] if m["name"] == "off_by_one")
    assert off["matching"] == 1  # bob handed in that very mistake
    rate = {t["test"]: t["share"] for t in found["failed_most"]}
    assert 0 < rate["sums a small list"] < 1
    text = invoke("stats", "toy-sum").output
    assert "Known mistakes" in text and "off_by_one" in text


def test_shard_parsing():
    assert gb.parse_shard("0/4") == (0, 4) and gb.parse_shard("3/4") == (3, 4)
    for bad in ("4/4", "-1/4", "1/0", "x", "1/2/3"):
        with pytest.raises(LmprepError, match="--shard"):
            gb.parse_shard(bad)
    shas = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(40)]
    owners = [[s for s in shas if gb.in_shard(s, (i, 4))] for i in range(4)]
    assert sorted(sum(owners, [])) == sorted(shas) and all(owners)


@pytest.mark.parametrize(
    "args, message",
    [
        (["grade", "nowhere/", "-c", "toy-sum"], "nowhere: no such file or folder"),
        (["grade", "roster", "-c", "no-such"], "unknown challenge"),
        (["grade", "roster", "-c", "toy-sum", "--shard", "5/2"], "--shard 5/2"),
        (["grade", "roster", "-c", "toy-sum", "-o", "book.txt"], "book.txt: a gradebook is written as .csv or .json"),
        (["grade", "roster/bob/answer.py", "roster/frank/notes.txt", "-c", "toy-sum"], "notes.txt: a submission"),
        (
            ["grade", "roster", "-c", "toy-sum", "--gradebook", "broken.db"],
            "broken.db: not a readable lmprep gradebook",
        ),
        (["grade", "merge", "nothing.csv", "-o", "m.csv"], "nothing.csv: no such file"),
        (["grade", "merge", "roster/frank/notes.txt", "-o", "m.csv"], "not an lmprep gradebook"),
        (["stats", "toy-sum", "--gradebook", "missing.db"], "missing.db: no such file"),
        (["stats", "toy-sum", "--gradebook", "roster/frank/notes.txt"], "not an lmprep gradebook"),
    ],
)
def test_bad_input_is_one_line_and_loses_nothing(roster, tmp_path, args, message):
    (tmp_path / "broken.db").write_bytes(b"this is not sqlite" * 100)
    result = invoke(*args)
    assert result.exit_code == 1, result.output
    assert message in result.output and "Traceback" not in result.output
    assert (tmp_path / "broken.db").read_bytes() == b"this is not sqlite" * 100
    assert not (tmp_path / "m.csv").exists()
