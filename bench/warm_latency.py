"""What warm grading (grader/warm.py) buys: ``lmprep submit`` and ``lmprep validate``
through the per-user grading server against the same with ``LMPREP_WARM=0`` (cold), and
against the floor every cold grading pays at least once: ``python -c "import torch, pytest"``.

All figures come from one run, in this process tree, with a private ``LMPREP_HOME``,
``LMPREP_WORKSPACE`` and ``LMPREP_RUNTIME_DIR`` (mode 0700), so the bench's server is its
own; the server is started with one untimed submit, and stopped at the end (even on error).
Warm and cold runs of a challenge alternate, so that a change in the machine's load
falls on both. Phases:

1. floor: median of ``python -c "import torch, pytest"``;
2. warm submit of scaled-dot-product-attention's reference (the whole CLI command, with
   ``--json``). Goals: <= 0.5 s and <= 0.33 x floor;
3. warm submit of ngram-lm's reference (pure Python). Goal: <= 0.3 s;
4. cold submit of both: cold/warm speed-up; and, what no grader can beat, the same specs
   run by ``pytest`` in one process that imports the reference (bench/naive_plugin.py);
5. ``lmprep validate -j 2`` of a few challenges (``--whole-bank``: all of challenges/),
   warm then cold, one run each. Goal (whole bank): cold/warm >= 4;
6. 8 concurrent warm submits of 8 challenges' references: all Accepted, the wall time,
   and at the peak the server's processes and memory (RSS summed over the server and its
   descendants, which counts pages shared after fork once per process, and PSS, which
   shares them out).

Where a warm submit is slow, the Report's timings say where the time goes (medians):
judge_imports_s (judge start to its imports done), worker_ready_s, specs_s (the specs
running in the worker), total_s (the judge), wall_s (``grade()`` in the CLI); "CLI" is
the command's wall time less wall_s (interpreter start, lmprep's imports, the database).

    python bench/warm_latency.py [--runs 5] [--whole-bank] [--skip-validate]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader import limits, warm  # noqa: E402 - this checkout's grader, installed or not

TORCH_CHALLENGE = "scaled-dot-product-attention"
PYTHON_CHALLENGE = "ngram-lm"
VALIDATE_SUBSET = ["stable-softmax", "ngram-lm", "scaled-dot-product-attention"]
CONCURRENT = [
    "stable-softmax",
    "ngram-lm",
    "scaled-dot-product-attention",
    "cross-entropy-loss",
    "lstm-cell",
    "kv-cache",
    "top-k-top-p",
    "greedy-decoding",
]
# a spec that checks a remote object's identity (ngram-lm: fit returns self) fails in-process: a timing only
NAIVE_OK = (0, 1)
TIMING_KEYS = ("judge_imports_s", "worker_ready_s", "specs_s", "total_s", "wall_s")


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def run(cmd: list[str], env: dict, ok=(0,)) -> tuple[float, str]:
    """Wall time and stdout of ``cmd``; exits on an unexpected status."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return elapsed, proc.stdout


def submit_cmd(slug: str) -> list[str]:
    reference = ROOT / "challenges" / slug / "reference.py"
    return [sys.executable, "-m", "lmprep", "submit", str(reference), "-c", slug, "--json"]


class Submits:
    """Runs of one challenge's reference submitted one way (warm or cold)."""

    def __init__(self, slug: str, env: dict):
        self.slug, self.env = slug, env
        self.walls: list[float] = []
        self.reports: list[dict] = []

    def once(self, timed: bool = True) -> None:
        elapsed, out = run(submit_cmd(self.slug), self.env)
        report = json.loads(out)
        if report["verdict"] != "Accepted":
            sys.exit(f"{self.slug}: reference {report['verdict']}: {report.get('message')}")
        if timed:
            self.walls.append(elapsed)
            self.reports.append(report)

    @property
    def median(self) -> float:
        return statistics.median(self.walls)

    @property
    def warm_runs(self) -> int:
        return sum(bool(r["timings"].get("warm")) for r in self.reports)

    def timing(self, key: str) -> float:
        values = [r["timings"][key] for r in self.reports if key in r["timings"]]
        return statistics.median(values) if values else float("nan")

    def slowest_tests(self, n: int = 3) -> list[tuple[str, float]]:
        durations: dict[str, list[float]] = {}
        for report in self.reports:
            for test in report.get("tests", []):
                durations.setdefault(test["name"], []).append(test.get("duration_s") or 0.0)
        medians = {name: statistics.median(values) for name, values in durations.items()}
        return sorted(medians.items(), key=lambda item: -item[1])[:n]

    def tests_sum(self) -> float:
        return statistics.median(sum(t.get("duration_s") or 0.0 for t in r.get("tests", [])) for r in self.reports)


def server_pid() -> int | None:
    found = warm.status()
    return found["pid"] if found else None


def naive_cmd(slug: str) -> list[str]:
    """pytest over the challenge's specs in one process that imports the reference."""
    spec = ROOT / "challenges" / slug / "spec"
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "bench.naive_plugin",
            "-c", str(ROOT / "grader" / "pytest.ini"), "--rootdir", str(spec), "--import-mode=importlib", str(spec)]  # fmt: skip


def start_server(env: dict) -> None:
    """One untimed warm submit: (re)starts the server if it has gone (idle, replaced)."""
    Submits(PYTHON_CHALLENGE, env).once(timed=False)


def memory_kb(pid: int) -> tuple[int, int]:
    """(VmRSS, Pss) of ``pid`` in kB, 0 where it cannot be read (gone, or not ours)."""
    rss = pss = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
    return rss, pss


class Peak:
    """Polls the server while gradings run: its status, and its process tree's memory."""

    def __init__(self, pid: int, interval: float = 0.1):
        self.pid, self.interval = pid, interval
        self.done = threading.Event()
        self.processes = self.judges = 0
        self.rss_mb = self.pss_mb = 0.0
        self.status_rss_mb = 0
        self.samples = 0
        self.thread = threading.Thread(target=self.poll, daemon=True)

    def poll(self) -> None:
        while not self.done.is_set():
            tree = [self.pid, *limits.descendants(self.pid)]
            kb = [memory_kb(p) for p in tree]
            self.processes = max(self.processes, len(tree) - 1)
            self.rss_mb = max(self.rss_mb, sum(r for r, _ in kb) / 1024)
            self.pss_mb = max(self.pss_mb, sum(p for _, p in kb) / 1024)
            found = warm.status()
            if found:
                self.judges = max(self.judges, found["running"])
                self.status_rss_mb = max(self.status_rss_mb, found["rss_mb"] + found["children_rss_mb"])
            self.samples += 1
            self.done.wait(self.interval)

    def __enter__(self) -> Peak:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()


def validate_wall(slugs: list[str], env: dict) -> tuple[float, int, int]:
    """Wall time of ``lmprep validate -j 2``, challenges checked, and how many failed."""
    paths = [str(ROOT / "challenges" / s) for s in slugs]
    elapsed, out = run([sys.executable, "-m", "lmprep", "validate", *paths, "-j", "2", "--json"], env, ok=(0, 1))
    checks = json.loads(out)
    return elapsed, len(checks), sum(not c["ok"] for c in checks)


def concurrent_submits(slugs: list[str], env: dict) -> tuple[float, list[str], Peak | None]:
    pid = server_pid()
    verdicts: list[str] = [""] * len(slugs)

    def one(i: int) -> None:
        proc = subprocess.run(submit_cmd(slugs[i]), cwd=ROOT, env=env, capture_output=True, text=True)
        try:
            report = json.loads(proc.stdout)
            verdicts[i] = report["verdict"] + ("" if report["timings"].get("warm") else " (cold)")
        except (ValueError, KeyError):
            verdicts[i] = f"exit {proc.returncode}: {proc.stderr.strip()[-200:]}"

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(slugs))]
    peak = Peak(pid) if pid else None
    with peak or contextlib.nullcontext():
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - start
    return elapsed, verdicts, peak


def goal(text: str, met: bool) -> None:
    print(f"  {'met    ' if met else 'NOT met'}  {text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--whole-bank", action="store_true", help="validate every challenge (default: a few)")
    parser.add_argument("--skip-validate", action="store_true")
    args = parser.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="lmprep-warm-bench-")
    runtime = Path(tmp.name) / "runtime"
    runtime.mkdir(mode=0o700)
    base = dict(os.environ)
    base.update(
        LMPREP_HOME=str(Path(tmp.name) / "home"),
        LMPREP_WORKSPACE=str(Path(tmp.name) / "workspace"),
        LMPREP_RUNTIME_DIR=str(runtime),
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
    )
    base.pop("LMPREP_WARM", None)
    os.environ["LMPREP_RUNTIME_DIR"] = str(runtime)  # for warm.status() / stop() here
    warm_env = dict(base)
    cold_env = {**base, "LMPREP_WARM": "0"}
    print(f"{os.cpu_count()} CPUs; load average at start {load()}; runs {args.runs}; {sys.executable}")
    try:
        bench(args, warm_env, cold_env)
    finally:
        stopped = warm.stop()
        print(f"bench server stopped: {stopped}; load average at end {load()}")
        tmp.cleanup()


def bench(args, warm_env: dict, cold_env: dict) -> None:
    runs = args.runs
    # 1. the floor
    floor_cmd = [sys.executable, "-c", "import torch, pytest"]
    run(floor_cmd, warm_env)  # the file cache
    floor = statistics.median(run(floor_cmd, warm_env)[0] for _ in range(runs))
    floor_load = load()

    # 2-4. warm and cold submits, alternating
    rows: dict[str, tuple[Submits, Submits, str]] = {}
    naive: dict[str, float] = {}
    restarts = 0
    for slug in (TORCH_CHALLENGE, PYTHON_CHALLENGE):
        hot, cold = Submits(slug, warm_env), Submits(slug, cold_env)
        naive_env = {**warm_env, "LMPREP_BENCH_CHALLENGE": str(ROOT / "challenges" / slug),
                     "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # fmt: skip
        hot.once(timed=False)  # starts the server (or finds it), untimed
        cold.once(timed=False)  # the file cache
        run(naive_cmd(slug), naive_env, ok=NAIVE_OK)
        pid = server_pid()
        naive_walls = []
        for _ in range(runs):
            hot.once()
            cold.once()
            naive_walls.append(run(naive_cmd(slug), naive_env, ok=NAIVE_OK)[0])
        restarts += server_pid() != pid
        rows[slug] = (hot, cold, load())
        naive[slug] = statistics.median(naive_walls)

    print()
    print(f"{'phase':46s} {'median (s)':>10s} {'x floor':>8s} {'x/warm':>9s} {'load 1/5/15':>15s}")
    floor_label = 'floor: python -c "import torch, pytest"'
    print(f"{floor_label:46s} {floor:10.3f} {1:8.2f} {'':>9s} {floor_load:>15s}")
    for slug, (hot, cold, when) in rows.items():
        label = f"warm submit {slug}"
        if hot.warm_runs < len(hot.reports):
            label += f" ({len(hot.reports) - hot.warm_runs} cold!)"
        print(f"{label:46s} {hot.median:10.3f} {hot.median / floor:8.2f} {'':>9s} {when:>15s}")
        print(f"{'cold submit ' + slug:46s} {cold.median:10.3f} {cold.median / floor:8.2f} "
              f"{cold.median / hot.median:9.2f}")  # fmt: skip
        label = f"in-process specs {slug}"
        print(f"{label:46s} {naive[slug]:10.3f} {naive[slug] / floor:8.2f} {naive[slug] / hot.median:9.2f}")
    if restarts:
        print(f"the server was replaced {restarts} time(s) during the submits (grader/ changed under the bench?)")

    print()
    print("where the time goes (Report timings, medians, s; CLI = command wall - wall_s)")
    print(f"{'run':46s} " + " ".join(f"{k.removesuffix('_s'):>13s}" for k in TIMING_KEYS) + f" {'CLI':>6s}")
    for slug, (hot, cold, _) in rows.items():
        for how, runs_ in (("warm", hot), ("cold", cold)):
            values = " ".join(f"{runs_.timing(k):13.3f}" for k in TIMING_KEYS)
            print(f"{how + ' ' + slug:46s} {values} {runs_.median - runs_.timing('wall_s'):6.3f}")
    for slug, (hot, _, _) in rows.items():
        slowest = ", ".join(f"{name} {s:.2f}" for name, s in hot.slowest_tests())
        print(f"  warm {slug}: tests sum {hot.tests_sum():.2f} s of specs {hot.timing('specs_s'):.2f} s "
              f"(in-process pytest less the floor: {naive[slug] - floor:.2f} s); slowest: {slowest}")  # fmt: skip

    # 5. validate, warm then cold
    validate = None
    if not args.skip_validate:
        slugs = sorted(p.parent.name for p in (ROOT / "challenges").glob("*/challenge.toml"))
        slugs = slugs if args.whole_bank else VALIDATE_SUBSET
        start_server(warm_env)
        hot_s, n, hot_bad = validate_wall(slugs, warm_env)
        hot_load = load()
        cold_s, _, cold_bad = validate_wall(slugs, cold_env)
        validate = (hot_s, cold_s)
        what = "whole bank" if args.whole_bank else " ".join(slugs)
        print()
        print(f"validate -j 2 of {n} challenges ({what}):")
        print(f"  warm {hot_s:8.2f} s ({hot_bad} failed; load {hot_load})")
        print(f"  cold {cold_s:8.2f} s ({cold_bad} failed; load {load()})")
        print(f"  cold/warm {cold_s / hot_s:.2f}")

    # 6. concurrent warm submits
    start_server(warm_env)
    elapsed, verdicts, peak = concurrent_submits(CONCURRENT, warm_env)
    print()
    print(f"{len(CONCURRENT)} concurrent warm submits: {elapsed:.2f} s wall (load {load()})")
    for slug, verdict in zip(CONCURRENT, verdicts):
        print(f"  {slug:32s} {verdict}")
    if peak is not None:
        print(f"  peak: {peak.processes} processes under the server, {peak.judges} judges running; "
              f"RSS {peak.rss_mb:.0f} MB summed (status: {peak.status_rss_mb} MB), "
              f"PSS {peak.pss_mb:.0f} MB ({peak.samples} samples)")  # fmt: skip

    # goals
    sdpa, ngram = rows[TORCH_CHALLENGE][0].median, rows[PYTHON_CHALLENGE][0].median
    print()
    print("goals:")
    goal(f"warm submit {TORCH_CHALLENGE} <= 0.5 s: {sdpa:.3f} s", sdpa <= 0.5)
    goal(f"warm submit {TORCH_CHALLENGE} <= 0.33 x floor: {sdpa / floor:.2f} x", sdpa <= 0.33 * floor)
    goal(f"warm submit {PYTHON_CHALLENGE} <= 0.3 s: {ngram:.3f} s", ngram <= 0.3)
    if validate is not None:
        ratio = validate[1] / validate[0]
        scope = "" if args.whole_bank else " (the goal is for --whole-bank; this is a subset)"
        goal(f"validate cold/warm >= 4: {ratio:.2f}{scope}", ratio >= 4)
    accepted = sum(v == "Accepted" for v in verdicts)
    goal(f"{len(CONCURRENT)} concurrent warm submits all Accepted (warm): {accepted}/{len(CONCURRENT)}",
         accepted == len(CONCURRENT))  # fmt: skip


if __name__ == "__main__":
    main()
