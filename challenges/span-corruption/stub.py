"""Span corruption (T5's objective): fill in span_corrupt (pure Python)."""

from __future__ import annotations


def span_corrupt(tokens: list[int], spans: list[tuple[int, int]], sentinel_start: int) -> tuple[list[int], list[int]]:
    """Hide each span behind a sentinel; return (inputs, targets).

    tokens: the token ids, a list of int of length n.
    spans: (start, end) pairs, half-open [start, end); sorted, non-overlapping (adjacent is
        fine), non-empty, 0 <= start < end <= n. Anything else -> ValueError.
    sentinel_start: the id of the first sentinel; span j uses sentinel_start - j.

    Returns two new lists of int:
        inputs: tokens with span j replaced by the single id sentinel_start - j;
        targets: for each span j, sentinel_start - j followed by tokens[start:end], then the
        final sentinel sentinel_start - len(spans).
    tokens and spans are not modified.
    """
    raise NotImplementedError
