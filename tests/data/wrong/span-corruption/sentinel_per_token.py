"""Span corruption that replaces every hidden token by the span's sentinel (one sentinel
per token, as BERT's masking does) instead of one sentinel per span.

Diagnosis: single sentinel
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
        inputs += tokens[prev_end:start] + [sentinel] * (end - start)
        targets += [sentinel] + tokens[start:end]
        prev_end = end
    inputs += tokens[prev_end:]
    targets.append(sentinel_start - len(spans))
    return inputs, targets
