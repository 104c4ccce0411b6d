"""Lowercases the text first (BERT uncased's BasicTokenizer step), which this contract forbids.

Diagnosis: lowercased
"""


def wordpiece_tokenize(text, vocab, unk_token="[UNK]", max_input_chars_per_word=100):
    output = []
    for token in text.lower().strip().split():
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
