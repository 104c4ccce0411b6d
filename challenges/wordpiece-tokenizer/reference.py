"""WordPiece tokenization: BERT's greedy longest-match-first.

Follows `WordpieceTokenizer.tokenize` in Google's BERT (tokenization.py; Devlin et al.,
2019) and Hugging Face's port of it: split on whitespace, then cut each word from the
left into the longest vocabulary piece; pieces after the first carry the "##" prefix.
A word that cannot be covered, or is longer than ``max_input_chars_per_word``, becomes a
single unknown token. No lowercasing or punctuation splitting happens here (that is
BERT's separate BasicTokenizer).
"""

from __future__ import annotations

from collections.abc import Container


def _split_word(word: str, vocab: Container[str]) -> list[str] | None:
    """The greedy longest-match pieces of ``word``, or None when some position has no piece.

    Example: _split_word("unaffable", {"un", "##aff", "##able", ...}) == ["un", "##aff", "##able"].
    """
    pieces, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):  # longest candidate first
            piece = word[start:end] if start == 0 else "##" + word[start:end]
            if piece in vocab:
                break
        else:
            return None  # no piece starts here: the word cannot be covered
        pieces.append(piece)
        start = end
    return pieces


def wordpiece_tokenize(
    text: str, vocab: Container[str], unk_token: str = "[UNK]", max_input_chars_per_word: int = 100
) -> list[str]:
    """The WordPiece tokens of ``text``, word by word.

    Example: wordpiece_tokenize("unaffable runs", {"un", "##aff", "##able", "run", "##s"})
    == ["un", "##aff", "##able", "run", "##s"].
    """
    tokens: list[str] = []
    for word in text.split():  # any run of whitespace separates words
        pieces = _split_word(word, vocab) if len(word) <= max_input_chars_per_word else None
        tokens.extend(pieces if pieces is not None else [unk_token])
    return tokens
