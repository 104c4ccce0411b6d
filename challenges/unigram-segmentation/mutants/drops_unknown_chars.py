"""Drops unknown characters from the output instead of emitting them alone.

Diagnosis: unknown characters are dropped
"""

from __future__ import annotations

import math

SPACE = "\u2581"  # "▁", SentencePiece's visible space


def segment(text: str, piece_log_probs: dict[str, float], unk_log_prob: float = -100.0) -> list[str]:
    """The most probable segmentation of "▁" + text (spaces as "▁") into pieces.

    Example: segment("the cat", {"▁the": -2.0, "▁cat": -3.0, "▁": -4.0, "cat": -2.5})
    == ["▁the", "▁cat"] (log-prob -5.0; ["▁the", "▁", "cat"] scores -8.5).
    """
    symbols = SPACE + text.replace(" ", SPACE)
    n = len(symbols)
    max_len = max((len(piece) for piece in piece_log_probs), default=1)
    best = [0.0] + [-math.inf] * n  # best[i]: the best log-prob of symbols[:i]
    start = [0] * (n + 1)  # start[i]: where the last piece of that best segmentation starts
    for end in range(1, n + 1):
        for begin in range(max(0, end - max_len), end):
            piece = symbols[begin:end]
            log_prob = piece_log_probs.get(piece)
            if log_prob is None and end - begin == 1:
                log_prob = unk_log_prob  # an unknown single character
            if log_prob is not None and best[begin] + log_prob > best[end]:
                best[end], start[end] = best[begin] + log_prob, begin
    pieces = []
    end = n
    while end > 0:  # follow the back-pointers from the end
        if symbols[start[end] : end] in piece_log_probs:
            pieces.append(symbols[start[end] : end])
        end = start[end]
    return pieces[::-1]
