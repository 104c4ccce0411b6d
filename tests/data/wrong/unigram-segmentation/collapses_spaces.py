"""Unigram segmentation that builds the symbols with "▁" + "▁".join(text.split()): runs of
spaces collapse into one "▁", leading and trailing spaces are stripped, and tabs and
newlines become "▁" too.

Diagnosis: each space
"""

import math

SPACE = "\u2581"


def segment(text, piece_log_probs, unk_log_prob=-100.0):
    symbols = SPACE + SPACE.join(text.split())
    n = len(symbols)
    max_len = max((len(p) for p in piece_log_probs), default=1)
    best = [0.0] + [-math.inf] * n
    back = [0] * (n + 1)
    for end in range(1, n + 1):
        for begin in range(max(0, end - max_len), end):
            lp = piece_log_probs.get(symbols[begin:end])
            if lp is None and end - begin == 1:
                lp = unk_log_prob
            if lp is not None and best[begin] + lp > best[end]:
                best[end], back[end] = best[begin] + lp, begin
    pieces, end = [], n
    while end > 0:
        pieces.append(symbols[back[end] : end])
        end = back[end]
    return pieces[::-1]
