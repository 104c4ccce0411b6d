"""Build a realistic demo progress database and screenshot its `lmprep report`.

    python docs/make_report_screenshot.py            # writes docs/report.png (and keeps nothing else)
    python docs/make_report_screenshot.py --keep DIR # also keeps DIR/demo.db and DIR/report.html

The demo learner worked for two weeks (1–14 March 2026): 30 graded attempts on ten
challenges of the real bank (Accepted, Wrong Answer, Runtime, Syntax and Interface
Errors, a time limit, one interrupted grading), hints, a solution viewed before solving,
a quiz answered twice, a spaced review solved again, and one grading the grader failed (Internal Error, not counted).
Every row is written through `ProgressStore` with the clock fixed (``LMPREP_NOW``), so the
database is the same on every run. The screenshot is taken by headless Chromium (Debian's
``chromium``), with the network cut off.

tests/test_progress_report.py builds its database with `build_demo` too.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from grader.report import Report, TestResult  # noqa: E402
from lmprep import bank  # noqa: E402
from lmprep.store import ProgressStore  # noqa: E402

DAY0 = dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc)
NOW = dt.datetime(2026, 3, 14, 21, 0, tzinfo=dt.timezone.utc)  # the evening of the last day
SCREENSHOT = ROOT / "docs" / "report.png"
WINDOW = (900, 2300)  # the top of the page: figures, topics, attempts over time, tests failed most

# (day, "HH:MM", what): what is an event kind, or a verdict with the tests that failed.
# Each test a challenge's specs name is given with the outcome it had when it failed.
HISTORY: list[tuple[str, list[tuple[int, str, str, tuple[str, ...]]]]] = [
    (
        "stable-softmax",
        [
            (0, "09:02", "start", ()),
            (0, "09:16", "Wrong Answer", ("float16 does not overflow [cpu]", "large magnitudes stay finite [cpu]")),
            (0, "09:21", "hint", ()),
            (0, "09:33", "Wrong Answer", ("float16 does not overflow [cpu]",)),
            (0, "09:41", "Accepted", ()),
            (12, "18:30", "review", ()),  # lmprep review stable-softmax: solved again from a fresh stub
            (12, "18:42", "Accepted", ()),
        ],
    ),
    (
        "scaled-dot-product-attention",
        [
            (1, "19:05", "start", ()),
            (
                1,
                "19:31",
                "Wrong Answer",
                ("fully masked rows give zeros [cpu-float32]", "weights rows sum to one or zero [cpu]"),
            ),
            (1, "19:44", "Runtime Error", ("masks broadcast bool and int [cpu-bool]",)),
            (2, "20:12", "Wrong Answer", ("fully masked rows give zeros [cpu-float32]",)),
            (2, "20:18", "hint", ()),
            (2, "20:34", "Accepted", ()),
        ],
    ),
    (
        "kv-cache",
        [
            (3, "18:00", "start", ()),
            (3, "18:41", "Interface Error", ("cache returned when none passed",)),
            (
                3,
                "18:57",
                "Wrong Answer",
                ("decode step matches full causal attention [cpu]", "passed cache not modified [cpu]"),
            ),
            (4, "19:02", "hint", ()),
            (4, "19:20", "Wrong Answer", ("decode step matches full causal attention [cpu]",)),
            (4, "19:36", "Time Limit Exceeded", ("step projects only new tokens",)),
            (4, "19:40", "hint", ()),
            (5, "20:03", "Wrong Answer", ("decode step matches full causal attention [cpu]",)),
            (5, "20:28", "solution", ()),
            (5, "20:47", "Accepted", ()),
        ],
    ),
    (
        "quiz-sampling",
        [
            (6, "12:10", "start", ()),
            (6, "12:31", "Wrong Answer", ("top_k_ties", "nucleus_size")),
            (6, "12:40", "Internal Error", ()),
            (7, "08:15", "Accepted", ()),
        ],
    ),
    (
        "bpe-tokenizer",
        [
            (7, "18:30", "start", ()),
            (7, "19:12", "Wrong Answer", ("encode applies lowest merge index first", "round trip [text0]")),
            (8, "18:50", "Wrong Answer", ("encode applies lowest merge index first",)),
            (8, "19:05", "Accepted", ()),
        ],
    ),
    (
        "top-k-top-p",
        [
            (9, "07:40", "start", ()),
            (9, "08:02", "Wrong Answer", ("top p keeps the crossing token [cpu]",)),
            (9, "08:11", "Accepted", ()),
        ],
    ),
    (
        "lstm-cell",
        [
            (10, "18:20", "start", ()),
            (10, "18:44", "Syntax Error", ()),
            (10, "18:49", "Wrong Answer", ("gate order matches the reference [cpu]", "gradients match torch [cpu]")),
            (10, "19:02", "Accepted", ()),
        ],
    ),
    (
        "greedy-decoding",
        [
            (11, "20:00", "start", ()),
            (11, "20:06", "Accepted", ()),
        ],
    ),
    (
        "temperature-softmax",
        [
            (12, "07:50", "start", ()),
            (12, "08:04", "Wrong Answer", ("temperature zero is rejected",)),
            (12, "08:09", "Accepted", ()),
        ],
    ),
    (
        "multi-head-attention",
        [
            (13, "18:10", "start", ()),
            (
                13,
                "18:52",
                "Wrong Answer",
                ("heads are split along the last dim [cpu]", "matches torch multi head attention [cpu]"),
            ),
            (13, "19:05", "interrupted", ()),
            (13, "19:20", "Wrong Answer", ("matches torch multi head attention [cpu]",)),
        ],
    ),
]
EVENTS = {"start", "hint", "solution", "skip", "reset", "review"}
GRADING_S = 9.0  # how long each demo grading takes


@contextlib.contextmanager
def clock(when: dt.datetime) -> Iterator[None]:
    """The store's clock (``LMPREP_NOW``) fixed at ``when`` for the writes inside."""
    before = os.environ.get("LMPREP_NOW")
    os.environ["LMPREP_NOW"] = when.isoformat()
    try:
        yield
    finally:
        if before is None:
            del os.environ["LMPREP_NOW"]
        else:
            os.environ["LMPREP_NOW"] = before


def _report(slug: str, verdict: str, failing: tuple[str, ...]) -> Report:
    """A grading of ``slug`` with ``verdict``; the tests in ``failing`` failed, 4 more passed."""
    ch = bank.get(slug)
    outcome = {"Runtime Error": "runtime_error", "Time Limit Exceeded": "time_limit"}.get(verdict, "wrong_answer")
    if ch.kind == "quiz":
        questions = bank.questions(ch)
        tests = [
            TestResult(
                q.id,
                f"{n}. {' '.join(q.text.split())[:60]}",
                outcome if q.id in failing else "passed",
                0.0 if q.id in failing else 1.0,
                1.0,
                0.0,
                "Your answer differs." if q.id in failing else "",
            )
            for n, q in enumerate(questions, 1)
        ]
    else:
        passed = [TestResult(f"spec::ok{n}", f"passing check {n}", "passed", 1.0, 1.0, 0.1) for n in range(4)]
        failed = [
            TestResult(
                f"spec::{name}",
                name,
                outcome,
                0.0,
                1.0,
                0.2,
                f"{name}: expected values differ",
                diagnosis="the mask is applied after the softmax" if "masked" in name else "",
            )
            for name in failing
        ]
        tests = passed + failed if verdict not in ("Syntax Error", "Interface Error") else failed
    score = sum(t.points for t in tests)
    return Report(
        verdict,
        slug,
        kind=ch.kind,
        score=score,
        max_score=float(len(tests)) or 1.0,
        tests=tests,
        timings={"wall_s": GRADING_S},
    )


def build_demo(path: Path) -> Path:
    """The demo learner's database at ``path`` (made afresh); returns ``path``."""
    path = Path(path)
    for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    store = ProgressStore(path)
    steps = sorted(
        (DAY0 + dt.timedelta(days=day, hours=int(hm[:2]), minutes=int(hm[3:])), slug, what, failing)
        for slug, rows in HISTORY
        for day, hm, what, failing in rows
    )
    for when, slug, what, failing in steps:
        with clock(when):
            if what in EVENTS:
                store.add_event(slug, what, "before solving" if what == "solution" else "")
                continue
            ch = bank.get(slug)
            attempt = store.begin_attempt(slug, f"{slug}.py", "# the learner's code\n", "cpu", ch.content_hash())
        with clock(when + dt.timedelta(seconds=GRADING_S)):
            if what == "interrupted":
                store.interrupt_attempt(attempt)
            else:
                store.finish_attempt(attempt, _report(slug, what, failing))
    store.close()
    return path


def chromium() -> str | None:
    """Debian's chromium, where installed."""
    return shutil.which("chromium")


def chromium_command(profile: Path, *args: str) -> list[str]:
    """A headless Chromium that cannot reach the network and makes no requests of its own."""
    return [
        chromium() or "chromium",
        "--headless",
        "--no-sandbox",  # root in a container has no user namespace for the sandbox
        "--disable-gpu",
        "--hide-scrollbars",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--force-device-scale-factor=1",
        "--host-resolver-rules=MAP * ~NOTFOUND",  # no host name resolves: nothing leaves the machine
        f"--user-data-dir={profile}",
        *args,
    ]


def screenshot(html: Path, png: Path, window: tuple[int, int] = WINDOW, dark: bool = False) -> Path:
    """A PNG of ``html`` as headless Chromium shows it in a ``window``-sized window."""
    with tempfile.TemporaryDirectory() as profile:
        flags = ["--blink-settings=preferredColorScheme=0", "--force-dark-mode"] if dark else []
        command = chromium_command(
            Path(profile),
            *flags,
            f"--window-size={window[0]},{window[1]}",
            f"--screenshot={png}",
            html.resolve().as_uri(),
        )
        subprocess.run(command, check=True, capture_output=True, timeout=120)
    return png


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="a folder to keep demo.db and report.html in")
    parser.add_argument("-o", "--output", type=Path, default=SCREENSHOT, help="the PNG to write")
    args = parser.parse_args(argv)
    if chromium() is None:
        sys.exit("no chromium here: apt-get install chromium")
    from lmprep import progress_report
    from lmprep.learner import Learner

    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        made = progress_report.write(Learner(build_demo(folder / "demo.db")), folder / "report.html", now=NOW)
        screenshot(Path(made["path"]), args.output)
    print(f"{args.output} ({args.output.stat().st_size // 1024} KB) from {made['attempts']} attempts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
