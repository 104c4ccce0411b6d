def segment(text: str, piece_log_probs: dict[str, float], unk_log_prob: float = -100.0) -> list[str]:
    """The most probable segmentation of the text under a unigram model (SentencePiece style).

    Every space of ``text`` becomes "▁" and one "▁" is prefixed: "the cat" -> "▁the▁cat".

    Args:
        text: the text.
        piece_log_probs: {piece: log-probability}; pieces may contain "▁".
        unk_log_prob: the log-probability of a single character that is not a piece.

    Returns:
        The pieces, in order; they concatenate to the transformed text and have the highest
        total log-probability (any one of several tied segmentations). The empty text gives ["▁"].
    """
    raise NotImplementedError
