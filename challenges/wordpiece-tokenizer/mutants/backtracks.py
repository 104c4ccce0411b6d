"""Backtracks to a shorter piece when the longest one leads to a dead end (not greedy).

Diagnosis: never backtracks
"""


def _cover(word, start, vocab):
    if start == len(word):
        return []
    for end in range(len(word), start, -1):
        piece = ("##" if start else "") + word[start:end]
        if piece in vocab:
            rest = _cover(word, end, vocab)
            if rest is not None:
                return [piece, *rest]
    return None


def _unused(text, vocab, unk_token="[UNK]", max_input_chars_per_word=100):
    output = []
    for token in text.strip().split():
        chars = list(token)
        if len(chars) > max_input_chars_per_word:
            output.append(unk_token)
            continue
        is_bad = False
        start = 0
        sub_tokens = []
        while start < len(chars):
            end = len(chars)
            cur_substr = None
            while start < end:
                substr = "".join(chars[start:end])
                if start > 0:
                    substr = "##" + substr
                if substr in vocab:
                    cur_substr = substr
                    break
                end -= 1
            if cur_substr is None:
                is_bad = True
                break
            sub_tokens.append(cur_substr)
            start = end
        if is_bad:
            output.append(unk_token)
        else:
            output.extend(sub_tokens)
    return output


def wordpiece_tokenize(text, vocab, unk_token="[UNK]", max_input_chars_per_word=100):
    out = []
    for word in text.split():
        pieces = _cover(word, 0, vocab) if len(word) <= max_input_chars_per_word else None
        out.extend(pieces if pieces is not None else [unk_token])
    return out
