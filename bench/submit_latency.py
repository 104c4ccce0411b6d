"""How much the isolated grader costs: ``lmprep submit`` against a naive in-process run.

For each pilot challenge, the median wall time of ``lmprep submit <reference> --challenge
<slug> --device cpu`` (CLI, judge and worker processes) against the median wall time of
the naive way: ``pytest`` over the same specs in one process that imports the reference
directly (bench/naive_plugin.py). Also times ``lmprep --help``. Goals: ratio <= 1.3;
``--help`` under 0.3 s.

    python bench/submit_latency.py [--runs 5] [slug ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PILOTS = ["scaled-dot-product-attention", "lstm-cell", "temperature-softmax"]


def wall(cmd: list[str], env: dict | None = None, ok=(0,)) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return elapsed


def median_of(runs: int, cmd: list[str], env: dict | None = None) -> float:
    wall(cmd, env)  # warm the file cache
    return statistics.median(wall(cmd, env) for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("slugs", nargs="*", default=PILOTS)
    args = parser.parse_args()
    lmprep = [sys.executable, "-m", "lmprep"]
    print(f"{'challenge':32s} {'submit (s)':>10s} {'naive (s)':>10s} {'ratio':>6s}")
    for slug in args.slugs:
        folder = ROOT / "challenges" / slug
        submit = median_of(args.runs, [*lmprep, "submit", str(folder / "reference.py"), "-c", slug, "--device", "cpu"])
        env = {**os.environ, "LMPREP_BENCH_CHALLENGE": str(folder), "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
        naive_cmd = [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "bench.naive_plugin",
            "-c",
            str(ROOT / "grader" / "pytest.ini"),
            "--rootdir",
            str(folder / "spec"),
            "--import-mode=importlib",
            str(folder / "spec"),
        ]
        naive = median_of(args.runs, naive_cmd, env)
        print(f"{slug:32s} {submit:10.3f} {naive:10.3f} {submit / naive:6.2f}")
    help_s = median_of(args.runs, [*lmprep, "--help"])
    entry = [str(Path(sys.executable).with_name("lmprep")), "--help"]
    script_s = median_of(args.runs, entry) if Path(entry[0]).exists() else float("nan")
    print(f"lmprep --help: {help_s:.3f} s (python -m lmprep), {script_s:.3f} s (console script)")


if __name__ == "__main__":
    main()
