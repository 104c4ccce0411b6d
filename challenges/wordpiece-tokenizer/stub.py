from collections.abc import Container


def wordpiece_tokenize(
    text: str, vocab: Container[str], unk_token: str = "[UNK]", max_input_chars_per_word: int = 100
) -> list[str]:
    """BERT's WordPiece: greedy longest-match-first, word by word.

    Args:
        text: the text; words are what ``text.split()`` gives (no lowercasing, no
            punctuation splitting).
        vocab: the pieces; use only ``piece in vocab`` (a set, or a dict whose keys are
            the pieces). Continuation pieces are stored with a "##" prefix.
        unk_token: what a word that cannot be covered becomes.
        max_input_chars_per_word: a word with more characters than this becomes unk_token.

    Returns:
        The tokens, e.g. ["un", "##aff", "##able"] for "unaffable".
    """
    raise NotImplementedError
