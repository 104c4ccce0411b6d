"""Span corruption whose sentinels count up (sentinel_start + j) instead of down
(sentinel_start - j, as T5's <extra_id_0> = 32099, <extra_id_1> = 32098, ...).

Diagnosis: count down
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
        sentinel = sentinel_start + j
        inputs += tokens[prev_end:start] + [sentinel]
        targets += [sentinel] + tokens[start:end]
        prev_end = end
    inputs += tokens[prev_end:]
    targets.append(sentinel_start + len(spans))
    return inputs, targets
