"""WordPiece that splits the text with text.split(" ") instead of text.split() (skipping
the empty words): tabs, newlines and other whitespace stay inside words.

Diagnosis: split()
"""


def wordpiece_tokenize(text, vocab, unk_token="[UNK]", max_input_chars_per_word=100):
    tokens = []
    for word in text.split(" "):
        if not word:
            continue
        if len(word) > max_input_chars_per_word:
            tokens.append(unk_token)
            continue
        pieces, start = [], 0
        while start < len(word):
            for end in range(len(word), start, -1):
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in vocab:
                    break
            else:
                pieces = None
                break
            pieces.append(piece)
            start = end
        tokens.extend(pieces if pieces is not None else [unk_token])
    return tokens
