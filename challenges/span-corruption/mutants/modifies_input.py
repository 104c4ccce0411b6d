"""Mutant: deletes the spans from the caller's tokens list in place.

Diagnosis: in place
"""

from __future__ import annotations


def span_corrupt(tokens, spans, sentinel_start):
    prev_end = 0
    for start, end in spans:
        if not 0 <= start < end <= len(tokens) or start < prev_end:
            raise ValueError(f"bad span ({start}, {end})")
        prev_end = end
    targets = []
    for j, (start, end) in enumerate(spans):
        targets += [sentinel_start - j] + tokens[start:end]
    targets.append(sentinel_start - len(spans))
    for j in reversed(range(len(spans))):  # right to left so earlier positions stay valid
        start, end = spans[j]
        tokens[start:end] = [sentinel_start - j]
    return tokens, targets
