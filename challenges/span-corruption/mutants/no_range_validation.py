"""Mutant: does not check that spans lie inside the sequence.

Diagnosis: outside the sequence
"""

from __future__ import annotations


def validate_spans(spans: list[tuple[int, int]], length: int) -> None:
    """Raise ValueError unless spans are sorted, non-overlapping, non-empty and inside [0, length]."""
    prev_end = 0
    for start, end in spans:
        if not start < end:
            raise ValueError(f"span ({start}, {end}) is empty or outside [0, {length}]")
        if start < prev_end:
            raise ValueError(f"span ({start}, {end}) overlaps or precedes the span ending at {prev_end}")
        prev_end = end


def span_corrupt(tokens: list[int], spans: list[tuple[int, int]], sentinel_start: int) -> tuple[list[int], list[int]]:
    """Replace each [start, end) span by a sentinel; return (inputs, targets) as new lists."""
    validate_spans(spans, len(tokens))
    inputs, targets = [], []
    prev_end = 0
    for j, (start, end) in enumerate(spans):
        sentinel = sentinel_start - j
        inputs += tokens[prev_end:start] + [sentinel]  # the kept tokens, then the span's sentinel
        targets += [sentinel] + tokens[start:end]  # the sentinel, then the tokens it hides
        prev_end = end
    inputs += tokens[prev_end:]
    targets.append(sentinel_start - len(spans))  # the final sentinel closes the target
    return inputs, targets
