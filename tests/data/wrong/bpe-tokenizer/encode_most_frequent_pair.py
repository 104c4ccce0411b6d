"""BPE whose encode merges the most frequent pair of the text first, as training does,
instead of the present pair with the lowest merge index.

Diagnosis: most frequent pair first
"""

from collections import Counter


def _merge(ids, pair, new_id):
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def train_bpe(text, vocab_size):
    if vocab_size < 256:
        raise ValueError("vocab_size must be at least 256")
    ids = list(text.encode("utf-8"))
    merges = []
    while 256 + len(merges) < vocab_size and len(ids) >= 2:
        counts = Counter(zip(ids, ids[1:]))  # insertion order = first occurrence
        pair = max(counts, key=counts.get)
        merges.append(pair)
        ids = _merge(ids, pair, 255 + len(merges))
    return merges


def encode(text, merges):
    rank = {tuple(p): 256 + i for i, p in enumerate(merges)}
    ids = list(text.encode("utf-8"))
    while len(ids) >= 2:
        counts = Counter(p for p in zip(ids, ids[1:]) if p in rank)
        if not counts:
            break
        pair = max(counts, key=counts.get)  # the most frequent known pair
        ids = _merge(ids, pair, rank[pair])
    return ids


def decode(ids, merges):
    vocab = [bytes([b]) for b in range(256)]
    for a, b in merges:
        vocab.append(vocab[a] + vocab[b])
    out = []
    for i in ids:
        if not 0 <= i < len(vocab):
            raise ValueError(f"unknown id {i}")
        out.append(vocab[i])
    return b"".join(out).decode("utf-8", errors="replace")
