"""Unigram segmentation that uses an unknown character (scoring unk_log_prob) only when no
piece at all ends at a position, instead of as one more choice the search can take
whenever it gives the best total.

Diagnosis: unknown character
"""

import math

SPACE = "\u2581"


def segment(text, piece_log_probs, unk_log_prob=-100.0):
    symbols = SPACE + text.replace(" ", SPACE)
    n = len(symbols)
    max_len = max((len(p) for p in piece_log_probs), default=1)
    best = [0.0] + [-math.inf] * n
    back = [0] * (n + 1)
    for end in range(1, n + 1):
        for begin in range(max(0, end - max_len), end):
            lp = piece_log_probs.get(symbols[begin:end])
            if lp is not None and best[begin] + lp > best[end]:
                best[end], back[end] = best[begin] + lp, begin
        if best[end] == -math.inf:  # no piece ends here: fall back to an unknown character
            best[end], back[end] = best[end - 1] + unk_log_prob, end - 1
    pieces, end = [], n
    while end > 0:
        pieces.append(symbols[back[end] : end])
        end = back[end]
    return pieces[::-1]
