"""WordPiece that, when no piece starts at some position, keeps the pieces found so far and
appends unk_token, instead of turning the whole word into a single unk_token.

Diagnosis: pieces found before a dead end
"""


def wordpiece_tokenize(text, vocab, unk_token="[UNK]", max_input_chars_per_word=100):
    tokens = []
    for word in text.split():
        if len(word) > max_input_chars_per_word:
            tokens.append(unk_token)
            continue
        start = 0
        while start < len(word):
            end = len(word)
            piece = None
            while end > start:
                candidate = word[start:end] if start == 0 else "##" + word[start:end]
                if candidate in vocab:
                    piece = candidate
                    break
                end -= 1
            if piece is None:
                tokens.append(unk_token)  # the pieces found so far stay
                break
            tokens.append(piece)
            start = end
    return tokens
