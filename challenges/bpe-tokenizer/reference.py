"""Byte-level byte-pair encoding (BPE): training, encoding and decoding.

Follows Sennrich et al., "Neural Machine Translation of Rare Words with Subword Units"
(2016), applied to UTF-8 bytes as in GPT-2, with the interface of Karpathy's minbpe
(`train`, `encode`, `decode` over a list of merges). Ids 0..255 are the bytes; merge i
creates id 256 + i.

Training keeps the pair counts up to date instead of recounting the whole sequence after
each merge: the tokens live in a doubly linked list over their original positions, each
pair knows the positions where it occurs, and a merge only touches the pairs on either
side of each merged occurrence. A heap, with stale entries skipped when popped, finds
the most frequent pair; ties go to the pair whose first occurrence comes earliest.
"""

from __future__ import annotations

import heapq
from collections import defaultdict

Pair = tuple[int, int]


class _PairIndex:
    """Where every adjacent pair occurs, and the most frequent pair (earliest first on ties).

    A position is the original index of a pair's left token; merging keeps the left
    token's index, so positions stay in sequence order.
    """

    def __init__(self) -> None:
        self.where: dict[Pair, set[int]] = defaultdict(set)  # pair -> its positions
        self.firsts: dict[Pair, list[int]] = defaultdict(list)  # pair -> min-heap of positions (lazy)
        self.best: list[tuple[int, int, Pair]] = []  # heap of (-count, first position, pair) (lazy)
        self.touched: set[Pair] = set()

    def add(self, pair: Pair, pos: int) -> None:
        self.where[pair].add(pos)
        heapq.heappush(self.firsts[pair], pos)
        self.touched.add(pair)

    def remove(self, pair: Pair, pos: int) -> None:
        self.where[pair].discard(pos)
        self.touched.add(pair)

    def first(self, pair: Pair) -> int:
        """The earliest position of ``pair`` (dropping positions it no longer holds)."""
        heap, live = self.firsts[pair], self.where[pair]
        while heap[0] not in live:
            heapq.heappop(heap)
        return heap[0]

    def publish(self) -> None:
        """Push the current (count, first position) of every pair changed since last time."""
        for pair in self.touched:
            if self.where[pair]:
                heapq.heappush(self.best, (-len(self.where[pair]), self.first(pair), pair))
        self.touched.clear()

    def pop_most_frequent(self) -> Pair | None:
        """The most frequent pair, the earliest one on ties; None when no pair is left."""
        while self.best:
            neg_count, first, pair = heapq.heappop(self.best)
            live = self.where[pair]
            if len(live) == -neg_count and self.first(pair) == first:
                return pair
            # stale: the pair changed after this entry was pushed, and a newer entry exists
        return None


def train_bpe(text: str, vocab_size: int) -> list[Pair]:
    """The merges learned on ``text`` until ``vocab_size`` ids (or fewer than 2 tokens).

    Example: train_bpe("aaabdaaabac", 259) == [(97, 97), (256, 97), (257, 98)].
    """
    if vocab_size < 256:
        raise ValueError(f"vocab_size must be at least 256 (the byte ids), got {vocab_size}")
    token = list(text.encode("utf-8"))  # token at each original position
    n = len(token)
    nxt = list(range(1, n + 1))  # next live position (n = none)
    prv = list(range(-1, n - 1))  # previous live position (-1 = none)
    index = _PairIndex()
    for i in range(n - 1):
        index.add((token[i], token[i + 1]), i)
    index.publish()

    merges: list[Pair] = []
    while 256 + len(merges) < vocab_size:
        pair = index.pop_most_frequent()
        if pair is None:  # fewer than 2 tokens left
            break
        new_id = 256 + len(merges)
        merges.append(pair)
        for i in sorted(index.where[pair]):  # left to right
            if i not in index.where[pair]:
                continue  # overlapped an occurrence just merged ("aaa")
            j = nxt[i]  # the right token, which disappears
            k, p = nxt[j], prv[i]
            index.remove(pair, i)
            if p >= 0:
                index.remove((token[p], token[i]), p)
            if k < n:
                index.remove((token[j], token[k]), j)
            token[i] = new_id
            nxt[i] = k
            if k < n:
                prv[k] = i
                index.add((new_id, token[k]), i)
            if p >= 0:
                index.add((token[p], new_id), p)
        index.publish()
    return merges


def _merge(ids: list[int], pair: Pair, new_id: int) -> list[int]:
    """Replace the non-overlapping occurrences of ``pair``, left to right, by ``new_id``."""
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def encode(text: str, merges: list[Pair]) -> list[int]:
    """Apply the merges to the UTF-8 bytes of ``text``, lowest merge index first.

    Example: with the merges above, encode("aaabdaaabac", merges) == [258, 100, 258, 97, 99].
    """
    rank = {tuple(pair): 256 + i for i, pair in enumerate(merges)}  # pair -> its new id
    ids = list(text.encode("utf-8"))
    while len(ids) >= 2:
        present = set(zip(ids, ids[1:]))
        pair = min(present, key=lambda p: rank.get(p, float("inf")))
        if pair not in rank:
            break  # no merge applies any more
        ids = _merge(ids, pair, rank[pair])
    return ids


def decode(ids: list[int], merges: list[Pair]) -> str:
    """The text of ``ids``; invalid UTF-8 becomes U+FFFD as with errors="replace"."""
    vocab = [bytes([b]) for b in range(256)]  # id -> its bytes
    for a, b in merges:
        vocab.append(vocab[a] + vocab[b])
    pieces = []
    for i in ids:
        if not 0 <= i < len(vocab):
            raise ValueError(f"unknown token id {i}: valid ids are 0..{len(vocab) - 1}")
        pieces.append(vocab[i])
    return b"".join(pieces).decode("utf-8", errors="replace")
