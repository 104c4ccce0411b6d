"""What the worker's sandbox (namespaces + Landlock) costs: ``lmprep submit`` of a
challenge's reference with the sandbox on against the same with ``LMPREP_SANDBOX=off``,
medians of N runs, in this process tree. Goal: ratio <= 1.1 (the sandbox's own set-up is
about 30 ms per worker: namespaces 25-30 ms, Landlock 3 ms; the rest is the 2-core
machine's noise).

    python bench/sandbox_overhead.py [--runs 5] [slug ...]
"""

from __future__ import annotations

import argparse
import os
import sys

from submit_latency import ROOT, median_of

DEFAULT = ["stable-softmax", "scaled-dot-product-attention", "ngram-lm"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("slugs", nargs="*", default=DEFAULT)
    args = parser.parse_args()
    print(f"{'challenge':32s} {'sandbox (s)':>11s} {'off (s)':>8s} {'ratio':>6s}")
    for slug in args.slugs:
        reference = ROOT / "challenges" / slug / "reference.py"
        cmd = [sys.executable, "-m", "lmprep", "submit", str(reference), "-c", slug, "--device", "cpu"]
        on = median_of(args.runs, cmd, {**os.environ, "LMPREP_SANDBOX": "on"})
        off = median_of(args.runs, cmd, {**os.environ, "LMPREP_SANDBOX": "off"})
        print(f"{slug:32s} {on:11.3f} {off:8.3f} {on / off:6.2f}")


if __name__ == "__main__":
    main()
