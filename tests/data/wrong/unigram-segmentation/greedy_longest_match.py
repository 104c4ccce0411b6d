"""Unigram segmentation by greedy longest match: at each position take the longest piece
(falling back to one unknown character), which is not the most probable segmentation.

Diagnosis: greedy
"""

SPACE = "\u2581"


def segment(text, piece_log_probs, unk_log_prob=-100.0):
    symbols = SPACE + text.replace(" ", SPACE)
    max_len = max((len(p) for p in piece_log_probs), default=1)
    pieces, i = [], 0
    while i < len(symbols):
        for end in range(min(len(symbols), i + max_len), i, -1):
            if symbols[i:end] in piece_log_probs:
                break
        else:
            end = i + 1  # an unknown character alone
        pieces.append(symbols[i:end])
        i = end
    return pieces
