def train_bpe(text: str, vocab_size: int) -> list[tuple[int, int]]:
    """Learn byte-level BPE merges on the UTF-8 bytes of ``text``.

    Ids 0..255 are the bytes; merge i creates id 256 + i from the most frequent adjacent
    pair of the current sequence (every adjacent position counts; ties: the pair whose
    first occurrence comes earliest), replacing its non-overlapping occurrences left to right.

    Args:
        text: the training text.
        vocab_size: the number of ids wanted, bytes included (at most vocab_size - 256 merges).

    Returns:
        The merges in order: merges[i] = (left id, right id) of the pair that became id 256 + i.
        Training stops early when fewer than 2 tokens remain.

    Raises:
        ValueError: if vocab_size < 256.
    """
    raise NotImplementedError


def encode(text: str, merges: list[tuple[int, int]]) -> list[int]:
    """The ids of ``text``: its UTF-8 bytes, merged by repeatedly applying the present pair
    with the lowest merge index until no merge applies."""
    raise NotImplementedError


def decode(ids: list[int], merges: list[tuple[int, int]]) -> str:
    """The text of ``ids``; bytes that are not valid UTF-8 are replaced as
    ``bytes.decode("utf-8", errors="replace")`` does.

    Raises:
        ValueError: for an id that is neither a byte nor a merge (not in 0..255 + len(merges)).
    """
    raise NotImplementedError
