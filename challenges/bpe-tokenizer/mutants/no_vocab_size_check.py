"""vocab_size < 256 is not rejected: it silently returns no merges.

Diagnosis: vocab_size below 256
"""


def get_stats(ids):
    counts = {}
    for pair in zip(ids, ids[1:]):
        counts[pair] = counts.get(pair, 0) + 1
    return counts


def merge(ids, pair, idx):
    out, i = [], 0
    while i < len(ids):
        if i < len(ids) - 1 and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(idx)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def train_bpe(text, vocab_size):
    ids = list(text.encode("utf-8"))
    merges = []
    for k in range(vocab_size - 256):
        stats = get_stats(ids)
        if not stats:
            break
        pair = max(stats, key=stats.get)
        merges.append(pair)
        ids = merge(ids, pair, 256 + k)
    return merges


def encode(text, merges):
    ids = list(text.encode("utf-8"))
    for k, pair in enumerate(merges):
        ids = merge(ids, tuple(pair), 256 + k)
    return ids


def decode(ids, merges):
    vocab = {i: bytes([i]) for i in range(256)}
    for k, (a, b) in enumerate(merges):
        vocab[256 + k] = vocab[a] + vocab[b]
    out = []
    for i in ids:
        if i not in vocab:
            raise ValueError(f"unknown id {i}")
        out.append(vocab[i])
    return b"".join(out).decode("utf-8", errors="replace")
