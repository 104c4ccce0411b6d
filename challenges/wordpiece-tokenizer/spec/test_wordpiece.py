"""Specs for wordpiece_tokenize: hand cases, the "##" continuation rule, greedy without
backtracking, one unk per word, the length limit, whitespace splitting without lowercasing
or punctuation splitting, and a brute-force check of greediness on small vocabularies.

The wire cannot carry a Python set, so the vocabulary travels as a dict {piece: id}, the
way BERT loads vocab.txt; the prompt tells the learner to use only ``piece in vocab``."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.spec import RemoteException, check, check_unchanged_inputs, describe_value, fail, lazy, public

# ---------------------------------------------------------------- oracle and diagnosis


def as_vocab(pieces):
    """The vocabulary as BERT holds it: {piece: id} in the given order."""
    return {piece: i for i, piece in enumerate(pieces)}


def oracle(
    text,
    vocab,
    unk="[UNK]",
    max_chars=100,
    shortest=False,
    unk_per_piece=False,
    keep_partial=False,
    prefix="##",
    split=str.split,
):
    """Greedy longest-match-first WordPiece. The other values of ``shortest``,
    ``unk_per_piece``, ``keep_partial`` (the pieces before a dead end kept, then one unk),
    ``prefix`` and ``split`` are mistakes."""
    out = []
    for word in split(text):
        if len(word) > max_chars:
            out.append(unk)
            continue
        pieces, start, bad = [], 0, False
        while start < len(word):
            ends = range(start + 1, len(word) + 1) if shortest else range(len(word), start, -1)
            for end in ends:
                piece = (prefix if start else "") + word[start:end]
                if piece in vocab:
                    pieces.append(piece)
                    start = end
                    break
            else:
                if keep_partial:
                    pieces.append(unk)
                    break
                if not unk_per_piece:
                    bad = True
                    break
                pieces.append(unk)
                start += 1
        out.extend([unk] if bad else pieces)
    return out


def backtracking(text, vocab, unk="[UNK]", max_chars=100):
    """The mistake of searching for any covering (a shorter piece when the longest dead-ends)."""

    def cover(word, start):
        if start == len(word):
            return []
        for end in range(len(word), start, -1):
            piece = ("##" if start else "") + word[start:end]
            rest = cover(word, end) if piece in vocab else None
            if rest is not None:
                return [piece, *rest]
        return None

    out = []
    for word in text.split():
        pieces = cover(word, 0) if len(word) <= max_chars else None
        out.extend(pieces if pieces is not None else [unk])
    return out


def split_on_space(text):
    """The mistake of splitting on " " alone (empty words dropped)."""
    return [word for word in text.split(" ") if word]


def split_punctuation(text):
    """The mistake of splitting off punctuation as BERT's BasicTokenizer does."""
    return re.findall(r"\w+|[^\w\s]", text)


def diagnose(text, vocab, got, unk, max_chars):
    """The likely mistake (the most specific variant that gives ``got``), or ""."""
    mistakes = [
        (
            any(len(w) == max_chars for w in text.split()),
            lambda: oracle(text, vocab, unk, max_chars - 1),
            "a word of exactly max_input_chars_per_word characters becomes unk: only longer words do (> not >=)",
        ),
        (
            text != text.lower(),
            lambda: oracle(text.lower(), vocab, unk, max_chars),
            "the text is lowercased: do not lowercase, the vocabulary is case-sensitive",
        ),
        (
            split_on_space(text) != text.split(),
            lambda: oracle(text, vocab, unk, max_chars, split=split_on_space),
            'words are split on " " only: tabs, newlines and other whitespace separate words too, as text.split() does',
        ),
        (
            split_punctuation(text) != text.split(),
            lambda: oracle(text, vocab, unk, max_chars, split=split_punctuation),
            "punctuation is split off into its own words: it stays inside the word (no punctuation splitting)",
        ),
        (
            True,
            lambda: backtracking(text, vocab, unk, max_chars),
            "a shorter piece is tried when the longest one leads to a dead end: WordPiece never backtracks, "
            "the whole word becomes unk",
        ),
        (
            True,
            lambda: oracle(text, vocab, unk, max_chars, unk_per_piece=True),
            "an unk token is put where no piece starts and the word goes on: the whole word becomes one unk token",
        ),
        (
            True,
            lambda: oracle(text, vocab, unk, max_chars, keep_partial=True),
            "the pieces found before a dead end are kept: the whole word becomes one unk token",
        ),
        (
            True,
            lambda: oracle(text, vocab, unk, max_chars, prefix=""),
            'continuation pieces are looked up without their "##" prefix: inside a word use "##" + piece',
        ),
        (
            True,
            lambda: oracle(text, vocab, unk, max_chars, shortest=True),
            "the shortest piece is taken first: take the longest piece in the vocabulary",
        ),
    ]
    for applies, variant, why in mistakes:
        if applies and got == variant():
            return why
    return ""


def plural(n, word):
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def check_tokens(got, want, call, diagnosis="", show=False):
    """Compare the tokens; name the first wrong one and, when recognised, the mistake."""
    __tracebackhide__ = True
    if not isinstance(got, list) or not all(isinstance(t, str) for t in got):
        fail(f"{call} should return a list of str, got {describe_value(got)}")
    if got == want:
        return
    if show or len(repr(got)) + len(repr(want)) <= 160:  # short enough to show whole
        fail(f"{call} returned {got}, expected {want}.", diagnosis=diagnosis)
    if len(got) != len(want):
        fail(f"{call} returned {plural(len(got), 'token')}, expected {len(want)}.", diagnosis=diagnosis)
    k = next(i for i, (g, w) in enumerate(zip(got, want)) if g != w)
    fail(f"{call}: token {k} is {got[k]!r}, expected {want[k]!r}.", diagnosis=diagnosis)


def run_case(sub, text, pieces, show=False, unk="[UNK]", max_chars=100, **kwargs):
    """Call the submission and compare with the oracle, with a diagnosis on failure."""
    __tracebackhide__ = True
    vocab = as_vocab(pieces)
    extra = "".join(f", {k}={v!r}" for k, v in kwargs.items())
    call = f"wordpiece_tokenize({text!r}, {{{', '.join(map(repr, pieces))}}}{extra})"
    if len(call) > 160:
        call = f"wordpiece_tokenize({text!r}, <{len(pieces)} pieces>{extra})"
    try:
        got = sub.wordpiece_tokenize(text, vocab, **kwargs)
    except RemoteException as exc:
        fail(f"{call} raised {exc.type_name}: {exc.remote_message[:200]}")
    want = oracle(text, vocab, unk, max_chars)
    check_tokens(got, want, call, lazy(diagnose, text, vocab, got, unk, max_chars), show)


UNAFFABLE = ["un", "##aff", "##able", "aff", "able", "run", "##s", "##a", "##f"]

# ---------------------------------------------------------------- hand cases


@public
def test_unaffable(sub):
    """ "unaffable" -> ["un", "##aff", "##able"], the example from BERT's source"""
    run_case(sub, "unaffable", UNAFFABLE, show=True)


@public
def test_several_words_and_an_unknown_word(sub):
    """Words are tokenized one by one; "xyz" has no piece, so it is one "[UNK]" """
    run_case(sub, "unaffable runs xyz able", UNAFFABLE, show=True)


def test_longest_piece_wins(sub):
    """With "a", "ab", "abc" in the vocabulary, "abcd" starts with "abc" """
    run_case(sub, "abcd", ["a", "ab", "abc", "##b", "##bcd", "##d", "##cd"])


def test_greedy_does_not_backtrack(sub):
    """ "abcd": the longest first piece "ab" leaves "cd", which no piece starts; the word is
    "[UNK]" even though "a" + "##bcd" would cover it"""
    run_case(sub, "abcd", ["a", "ab", "##bcd"])


def test_continuation_pieces_carry_the_prefix(sub):
    """Inside a word only "##" pieces count: "aff" does not match after "un" but "##a", "##f" do"""
    run_case(sub, "unaff", ["un", "aff", "##a", "##f"])


def test_first_piece_has_no_prefix(sub):
    """At the start of a word only pieces without "##" count: "##un" does not match"""
    run_case(sub, "un", ["##un", "u", "##n"])


def test_one_unk_for_the_whole_word(sub):
    """ "unaffablez": everything but the last "z" is covered, and the word becomes a single unk"""
    run_case(sub, "runs unaffablez runs", UNAFFABLE)


@pytest.mark.parametrize("unk_token", ["<unk>", "[UNK]", "?"])
def test_custom_unk_token(sub, unk_token):
    """unk_token is what an uncoverable word becomes"""
    run_case(sub, "xyz unaffable q", UNAFFABLE, unk=unk_token, unk_token=unk_token)


# ---------------------------------------------------------------- the length limit


@pytest.mark.parametrize("length", [4, 5, 6])
def test_length_limit(sub, length):
    """max_input_chars_per_word=5: a 5-character word is tokenized, a 6-character one is unk"""
    word = "abcdef"[:length]
    pieces = ["a", "ab", "##c", "##d", "##e", "##f", "##cd"]
    run_case(sub, f"ab {word} ab", pieces, max_chars=5, max_input_chars_per_word=5)


def test_default_length_limit_is_100(sub):
    """By default a word of 100 characters is tokenized and one of 101 is unk"""
    run_case(sub, "a" * 100 + " " + "a" * 101, ["a", "##a", "##aa"])


def test_length_counts_characters(sub):
    """The limit counts characters (code points), not UTF-8 bytes: "日本語" is 3 long"""
    run_case(sub, "日本語 日本語語", ["日本", "##語"], max_chars=3, max_input_chars_per_word=3)


# ---------------------------------------------------------------- splitting


@pytest.mark.parametrize(
    "text",
    ["", "   ", "  unaffable   runs  ", "run\ts\nable\r\naff", "runs\u3000able\u00a0aff"],
    ids=["empty", "spaces", "multiple-spaces", "tabs-newlines", "unicode-whitespace"],
)
def test_whitespace_splitting(sub, text):
    """Words are what str.split() gives: any run of whitespace separates, none is a token"""
    run_case(sub, text, UNAFFABLE)


def test_no_lowercasing(sub):
    """ "Runs" is not "runs": the vocabulary is case-sensitive and the text is used as given"""
    run_case(sub, "Runs runs Un un", ["run", "##s", "un", "Un", "R", "##un"])


@pytest.mark.parametrize("pieces", [["hello", "##,", "##!"], ["hello", ",", "!"]], ids=["pieces", "no-pieces"])
def test_no_punctuation_splitting(sub, pieces):
    """Punctuation stays inside the word: "hello," needs a "##," piece, a bare "," is never used"""
    run_case(sub, "hello, hello!", pieces)


# ---------------------------------------------------------------- brute force


def brute_force_violation(word, vocab, got_pieces):
    """Check the pieces of one word by brute force: concatenation, "##" use, longest at each start."""
    text = "".join(p[2:] if i else p for i, p in enumerate(got_pieces))
    if text != word:
        return f"the pieces {got_pieces} do not spell the word {word!r} (continuation pieces drop their '##')"
    start = 0
    for i, piece in enumerate(got_pieces):
        if (i > 0) != piece.startswith("##") or piece not in vocab:
            return f"piece {piece!r} of {word!r} is not a valid {'continuation' if i else 'first'} piece"
        length = len(piece) - (2 if i else 0)
        for end in range(len(word), start + length, -1):
            longer = ("##" if i else "") + word[start:end]
            if longer in vocab:
                return f"in {word!r}, {piece!r} was taken where the longer {longer!r} is in the vocabulary"
        start += length
    return ""


ALL_PIECES = [a + b + c for a in "abc" for b in ["", *"abc"] for c in ["", *"abc"] if b or not c]


@settings(
    derandomize=True,
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    word=st.text(alphabet="abc", min_size=1, max_size=7),
    chosen=st.lists(st.sampled_from(ALL_PIECES), min_size=1, max_size=12, unique=True),
    continuation=st.lists(st.sampled_from(ALL_PIECES), min_size=1, max_size=12, unique=True),
)
def test_greedy_longest_match_by_brute_force(sub, word, chosen, continuation):
    """Random small vocabularies over "abc": every piece is the longest available at its position"""
    pieces = chosen + ["##" + p for p in continuation]
    vocab = as_vocab(pieces)
    call = f"wordpiece_tokenize({word!r}, <{len(pieces)} pieces>)"
    got = sub.wordpiece_tokenize(word, vocab)
    want = oracle(word, vocab)
    diagnosis = lazy(diagnose, word, vocab, got, "[UNK]", 100)
    if got == ["[UNK]"] and want != ["[UNK]"]:
        fail(
            f"{call} returned ['[UNK]'] but greedy longest-match covers the word with {len(want)} pieces",
            diagnosis=diagnosis,
        )
    if got != ["[UNK]"]:
        why = brute_force_violation(word, vocab, got) if isinstance(got, list) else "not a list"
        check(not why, f"{call}: {why}", diagnosis=diagnosis)
    check_tokens(got, want, call, diagnosis)


def test_inputs_not_modified(sub):
    """The vocabulary is read, never changed"""
    sub.wordpiece_tokenize("unaffable xyz", as_vocab(UNAFFABLE))
    check_unchanged_inputs(sub, ["text", "vocab"])
