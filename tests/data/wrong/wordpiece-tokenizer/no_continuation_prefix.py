"""WordPiece that looks up every piece of a word as it is: the pieces after the first are
neither looked up nor returned with the "##" prefix.

Diagnosis: "##" prefix
"""


def wordpiece_tokenize(text, vocab, unk_token="[UNK]", max_input_chars_per_word=100):
    tokens = []
    for word in text.split():
        if len(word) > max_input_chars_per_word:
            tokens.append(unk_token)
            continue
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start and word[start:end] not in vocab:
                end -= 1
            if end == start:
                pieces = None
                break
            pieces.append(word[start:end])
            start = end
        tokens.extend(pieces if pieces is not None else [unk_token])
    return tokens
