"""What `lmprep grade` buys an instructor: a class of 200 submissions graded with
``lmprep grade -j 2`` (warm) against 200 sequential cold ``lmprep submit`` runs of the
same files, in this process tree, on this machine.

The class answers one challenge (``--challenge``, default rnn-forward): correct
solutions (the reference and tests/data/correct/), typical mistakes (the challenge's
mutants and tests/data/wrong/) and 10 hostile files, each given a student's comment so
that no two files are byte-identical (200 gradings, none shared). Phases:

1. cold: ``lmprep --cold submit FILE --json`` for every file, one after another (each
   pays Python, torch and pytest imports: what a shell loop over submit costs);
2. warm: ``lmprep grade class/ -c SLUG -j 2``, the grading server started from nothing
   (stopped first; its start-up is in the figure). Goal: >= 5x faster than phase 1;
3. every verdict and score of phase 2 equal to phase 1's for the same file;
4. resumable: a fresh gradebook, ``lmprep grade`` SIGKILLed once half of the results
   are in, then run again: the rerun grades exactly the rest (none twice) and the
   gradebook ends with all 200 rows (none lost), verdicts equal to phase 2's.

Everything runs with a private LMPREP_HOME, LMPREP_WORKSPACE and LMPREP_RUNTIME_DIR; the
grading server is stopped at the end, even on error.

    python bench/batch_grading.py [--challenge rnn-forward] [--students 200]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader import warm  # noqa: E402 - this checkout's grader, installed or not

HOSTILE = {
    "exit_at_import": "import os\nos._exit(0)\n",
    "loop_at_import": "while True:\n    pass\n",
    "segfault": "import ctypes\nctypes.string_at(0)\n",
    "memory_bomb": "blocks = []\nwhile True:\n    blocks.append(bytearray(1 << 28))\n",
    "endless_output": "while True:\n    print('x' * 1000)\n",
    "kills_its_parent": "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\n",
    "sleeps": "import time\ntime.sleep(3600)\n",
    "raises": "raise RuntimeError('nothing here')\n",
    "rewrites_classmates": textwrap.dedent(
        """
        import os
        for root in ("/tmp", "/home", "/root", os.getcwd(), os.path.expanduser("~")):
            for folder, dirs, files in os.walk(root):
                for name in files:
                    path = os.path.join(folder, name)
                    # (only this bench's own files, should the sandbox ever fail to stop it)
                    if "lmprep-bench-batch-" in path and name.endswith((".py", ".db")) and path != __file__:
                        try:
                            with open(path, "w") as fh:
                                fh.write("raise SystemExit('rewritten')\\n")
                        except OSError:
                            pass
        """
    ),
    "reads_hidden_specs": textwrap.dedent(
        """
        import os
        found = []
        for root in ("/", os.getcwd(), os.path.expanduser("~")):
            for folder, dirs, files in os.walk(root):
                if folder.endswith("/spec"):
                    found += [os.path.join(folder, f) for f in files]
                if len(found) > 3:
                    raise RuntimeError("read the hidden specs: " + ", ".join(found[:3]))
        """
    ),
}


def make_class(slug: str, folder: Path, students: int) -> list[Path]:
    """``students`` files under folder/<student>/answer.py: ~half correct, the rest typical
    mistakes, and the hostile files."""
    challenge = ROOT / "challenges" / slug
    correct = [challenge / "reference.py", *sorted((ROOT / "tests/data/correct" / slug).glob("*.py"))]
    wrong = [*sorted((challenge / "mutants").glob("*.py")), *sorted((ROOT / "tests/data/wrong" / slug).glob("*.py"))]
    hostile = list(HOSTILE.items())[: min(10, students // 10)]
    honest = students - len(hostile)
    files = []
    for i in range(honest):
        source = correct[i % len(correct)] if i % 2 == 0 else wrong[(i // 2) % len(wrong)]
        files.append((f"s{i:03d}", f"# student {i:03d}: {source.stem}\n" + source.read_text()))
    files += [(f"h_{name}", f"# hostile: {name}\n{code}") for name, code in hostile]
    paths = []
    for student, text in files:
        path = folder / student / "answer.py"
        path.parent.mkdir(parents=True)
        path.write_text(text)
        paths.append(path)
    return paths


def lmprep(*args: str, env: dict, check: bool = True, timeout: float = 3600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lmprep", *args],
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        check=check,
    )


def gradebook_rows(path: Path) -> dict[str, tuple[str, float]]:
    rows = json.loads(path.read_text())
    return {r["file"]: (r["verdict"], r["score"]) for r in rows}


def results_in(book: Path) -> int:
    try:
        with sqlite3.connect(f"file:{book}?mode=ro", uri=True) as conn:
            return conn.execute("SELECT count(*) FROM results").fetchone()[0]
    except sqlite3.Error:
        return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--challenge", default="rnn-forward")
    parser.add_argument("--students", type=int, default=200)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lmprep-bench-batch-") as tmp:
        tmp = Path(tmp)
        runtime = tmp / "runtime"
        runtime.mkdir(mode=0o700)
        env = dict(
            os.environ,
            LMPREP_HOME=str(tmp / "home"),
            LMPREP_WORKSPACE=str(tmp / "workspace"),
            LMPREP_RUNTIME_DIR=str(runtime),
            PYTHONPATH=str(ROOT),
        )
        env.pop("LMPREP_CHALLENGES", None)
        files = make_class(args.challenge, tmp / "class", args.students)
        print(f"class: {len(files)} submissions to {args.challenge} ({sum('h_' in str(f) for f in files)} hostile)")
        try:
            # 1. cold, one submit after another
            cold: dict[str, tuple[str, float]] = {}
            started = time.perf_counter()
            for path in files:
                out = lmprep("--cold", "submit", str(path), "-c", args.challenge, "--json", env=env, check=False)
                report = json.loads(out.stdout)
                cold[str(path)] = (report["verdict"], report["score"])
            cold_s = time.perf_counter() - started
            print(
                f"cold: {len(files)} sequential `lmprep --cold submit`: {cold_s:.1f} s ({cold_s / len(files):.2f} s each)"
            )

            # 2. warm, the class in one command (the server's start-up included)
            warm.stop_every_server(runtime)
            book, out = tmp / "gradebook.db", tmp / "gradebook.json"
            started = time.perf_counter()
            summary = json.loads(
                lmprep(
                    "grade", str(tmp / "class"), "-c", args.challenge, "-j", "2", "--gradebook", str(book),
                    "-o", str(out), "--json", env=env,
                ).stdout
            )  # fmt: skip
            warm_s = time.perf_counter() - started
            print(
                f"warm: `lmprep grade -j 2`: {warm_s:.1f} s ({warm_s / len(files):.2f} s each); "
                f"speed-up {cold_s / warm_s:.1f}x (goal >= 5x); verdicts {summary['verdicts']}"
            )

            # 3. the same verdicts as submit
            graded = gradebook_rows(out)
            differ = {f: (cold[f], graded.get(f)) for f in cold if cold[f] != graded.get(f)}
            print(f"verdicts equal to submit's: {len(files) - len(differ)}/{len(files)}")
            for f, (a, b) in sorted(differ.items()):
                print(f"  {Path(f).parent.name}: submit {a}, grade {b}")

            # 4. SIGKILL half-way, then again
            book2, out2 = tmp / "gradebook2.db", tmp / "gradebook2.json"
            cmd = [
                sys.executable, "-m", "lmprep", "grade", str(tmp / "class"), "-c", args.challenge, "-j", "2",
                "--gradebook", str(book2),
            ]  # fmt: skip
            proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            while results_in(book2) < len(files) // 2 and proc.poll() is None:
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kept = results_in(book2)
            rerun = json.loads(lmprep(*cmd[3:], "-o", str(out2), "--json", env=env).stdout)
            rows = gradebook_rows(out2)
            print(
                f"killed (SIGKILL) with {kept} results in; the rerun graded {rerun['graded_now']} "
                f"(expected {len(files) - kept}); rows {len(rows)}/{len(files)}; "
                f"equal to the uninterrupted run: {sum(rows.get(f) == graded.get(f) for f in graded)}/{len(files)}"
            )
        finally:
            warm.stop_every_server(runtime)


if __name__ == "__main__":
    main()
