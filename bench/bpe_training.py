"""How much faster the bpe-tokenizer reference trains than a plain recount-every-merge BPE.

Trains ``challenges/bpe-tokenizer/reference.py`` (incremental pair counts: a linked list
over positions, a position index per pair and a heap) on about 100 KB of generated text
to a 1,000-id vocabulary, and the naive loop below (recount every pair, rebuild the whole
sequence, after each merge) on the same text; checks that both learn the same merges and
prints the median wall time of each and the speed-up. Goal: speed-up >= 10.

    python bench/bpe_training.py [--runs 3] [--chars 100000] [--vocab-size 1000]
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "challenges" / "bpe-tokenizer" / "reference.py"


def load_reference():
    spec = importlib.util.spec_from_file_location("bpe_reference", REFERENCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def generated_text(n_chars: int, seed: int) -> str:
    """Deterministic pseudo-words (the generator the challenge's size test uses)."""
    rng = random.Random(seed)
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"] + [c + v + "n" for c in "kst" for v in "aeiou"]
    words = ["".join(rng.choice(syllables) for _ in range(rng.choice([1, 2, 2, 3, 3, 4]))) for _ in range(400)]
    cum_weights = list(itertools.accumulate(1 / rank for rank in range(1, len(words) + 1)))
    out, size = [], 0
    while size < n_chars:
        word = rng.choices(words, cum_weights=cum_weights)[0]
        out.append(word)
        size += len(word) + 1
    return " ".join(out)[:n_chars]


def naive_train_bpe(text: str, vocab_size: int) -> list[tuple[int, int]]:
    """Recount all pairs and rebuild the sequence after every merge: O(n) per merge."""
    ids = list(text.encode("utf-8"))
    merges: list[tuple[int, int]] = []
    while 256 + len(merges) < vocab_size and len(ids) >= 2:
        counts: dict[tuple[int, int], int] = {}
        for pair in zip(ids, ids[1:]):
            counts[pair] = counts.get(pair, 0) + 1
        pair = max(counts, key=counts.get)  # the first maximum in insertion order: earliest on ties
        new_id = 256 + len(merges)
        merges.append(pair)
        out, i = [], 0
        while i < len(ids):
            if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
                out.append(new_id)
                i += 2
            else:
                out.append(ids[i])
                i += 1
        ids = out
    return merges


def median_time(runs: int, fn, *args) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--chars", type=int, default=100_000)
    parser.add_argument("--vocab-size", type=int, default=1000)
    args = parser.parse_args()
    reference = load_reference()
    text = generated_text(args.chars, seed=0)
    ref_s, ref_merges = median_time(args.runs, reference.train_bpe, text, args.vocab_size)
    naive_s, naive_merges = median_time(args.runs, naive_train_bpe, text, args.vocab_size)
    if ref_merges != naive_merges:
        sys.exit("the reference and the naive trainer learned different merges")
    print(f"text: {len(text.encode('utf-8')):,} bytes, vocab_size {args.vocab_size} ({len(ref_merges)} merges)")
    print(f"{'trainer':12s} {'median (s)':>10s}")
    print(f"{'reference':12s} {ref_s:10.3f}")
    print(f"{'naive':12s} {naive_s:10.3f}")
    print(f"speed-up: {naive_s / ref_s:.1f}x (goal >= 10x)")


if __name__ == "__main__":
    main()
