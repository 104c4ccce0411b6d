"""Span corruption whose targets stop after the last span's tokens: the final sentinel
sentinel_start - len(spans) that closes the target is missing.

Diagnosis: final sentinel
"""


def span_corrupt(tokens, spans, sentinel_start):
    prev_end = 0
    for start, end in spans:
        if not 0 <= start < end <= len(tokens) or start < prev_end:
            raise ValueError(f"bad span ({start}, {end})")
        prev_end = end
    inputs, targets = [], []
    prev_end = 0
    for j, (start, end) in enumerate(spans):
        sentinel = sentinel_start - j
        inputs += tokens[prev_end:start] + [sentinel]
        targets += [sentinel] + tokens[start:end]
        prev_end = end
    inputs += tokens[prev_end:]
    return inputs, targets
