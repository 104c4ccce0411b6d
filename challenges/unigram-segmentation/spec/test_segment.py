"""Specs for segment: the "▁" transform (leading marker, one per space), optimality against
brute-force enumeration of every segmentation, unknown characters at unk_log_prob, the
empty text, and linear time on a long text.

Several segmentations can tie, so a result is checked by what defines it: its pieces
concatenate to the transformed text, each is a piece or an unknown single character, and
its total log-probability equals the best one."""

import itertools
import math
import random
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.spec import RemoteException, check, check_unchanged_inputs, describe_value, fail, lazy, public, time_limit

SPACE = "\u2581"  # "▁"

# ---------------------------------------------------------------- oracle and checks


def transformed(text):
    return SPACE + text.replace(" ", SPACE)


def piece_score(piece, vocab, unk):
    """The log-prob of one piece, or None when it is neither a piece nor a single character."""
    if piece in vocab:
        return vocab[piece]
    return unk if len(piece) == 1 else None


def best_score_brute_force(symbols, vocab, unk):
    """The best total log-prob over every segmentation (2^(n-1) of them: short texts only)."""
    n, best = len(symbols), -math.inf
    for cuts in itertools.product([False, True], repeat=max(n - 1, 0)):
        bounds = [0] + [i + 1 for i, cut in enumerate(cuts) if cut] + [n]
        scores = [piece_score(symbols[a:b], vocab, unk) for a, b in zip(bounds, bounds[1:])]
        if None not in scores:
            best = max(best, sum(scores))
    return best


def greedy_longest(symbols, vocab):
    """The mistake of taking the longest piece at each position (unknown: one character)."""
    out, i = [], 0
    while i < len(symbols):
        end = next((e for e in range(len(symbols), i + 1, -1) if symbols[i:e] in vocab), i + 1)
        out.append(symbols[i:end])
        i = end
    return out


def best_score_unk_as_fallback(symbols, vocab, unk):
    """The best total log-prob under the mistake of using an unknown character only where no
    piece ends (instead of as one more scored choice)."""
    n = len(symbols)
    max_len = max((len(piece) for piece in vocab), default=1)
    best = [0.0] + [-math.inf] * n
    for end in range(1, n + 1):
        for begin in range(max(0, end - max_len), end):
            if symbols[begin:end] in vocab:
                best[end] = max(best[end], best[begin] + vocab[symbols[begin:end]])
        if best[end] == -math.inf:
            best[end] = best[end - 1] + unk
    return best[n]


def dropped_only_unknowns(joined, symbols, vocab):
    """Whether ``joined`` is ``symbols`` with some characters deleted, all of them unknown."""
    i = 0
    for char in symbols:
        if i < len(joined) and joined[i] == char:
            i += 1
        elif char in vocab:
            return False
    return i == len(joined) and len(joined) < len(symbols)


def diagnose_text(joined, got, text, vocab):
    """The mistake behind pieces that do not spell the transformed text, or ""."""
    symbols = transformed(text)
    if joined == symbols[1:]:
        return 'the leading "▁" is missing: the text is prefixed with one'
    if joined in {transformed(" ".join(text.split())), transformed(re.sub(" +", " ", text))}:
        return 'runs of spaces are collapsed or stripped: each space becomes its own "▁"'
    if "".join(reversed(got)) == symbols:
        return "the pieces come out last to first: reverse the back-pointer walk"
    if dropped_only_unknowns(joined, symbols, vocab):
        return "unknown characters are dropped: each one is emitted alone as a one-character piece"
    return ""


def diagnose_score(got, symbols, vocab, unk, total, best):
    """The mistake behind a valid segmentation that is not the most probable one, or ""."""
    if got == greedy_longest(symbols, vocab):
        return "the segmentation is greedy longest-match: use dynamic programming (Viterbi) over all end positions"
    if math.isclose(total, best_score_unk_as_fallback(symbols, vocab, unk), rel_tol=1e-9, abs_tol=1e-9):
        return (
            "an unknown character is only used where no piece ends: it is a choice the search may take "
            "whenever it scores better"
        )
    return ""


def vocab_text(vocab):
    text = repr(vocab)
    return text if len(text) <= 120 else f"<{len(vocab)} pieces>"


def check_segmentation(got, text, vocab, unk, best, call):
    """Concatenation, validity of each piece, and the total log-prob against ``best``."""
    __tracebackhide__ = True
    if not isinstance(got, list) or not all(isinstance(p, str) for p in got):
        fail(f"{call} should return a list of str, got {describe_value(got)}")
    symbols = transformed(text)
    joined = "".join(got)
    if joined != symbols:
        fail(
            f"{call}: the pieces {got if len(got) <= 12 else '...'} concatenate to {joined!r}, but the transformed "
            f"text is {symbols!r}.",
            diagnosis=lazy(diagnose_text, joined, got, text, vocab),
        )
    for piece in got:
        if piece == "":
            fail(f"{call}: the result contains an empty piece")
        if piece_score(piece, vocab, unk) is None:
            fail(f"{call}: {piece!r} is not a piece of the vocabulary (only single characters may be unknown)")
    total = sum(piece_score(piece, vocab, unk) for piece in got)
    if not math.isclose(total, best, rel_tol=1e-9, abs_tol=1e-9):
        fail(
            f"{call} returned {got if len(got) <= 12 else '<' + str(len(got)) + ' pieces>'}: its total "
            f"log-prob is {total:.6g}, but {best:.6g} is possible.",
            diagnosis=lazy(diagnose_score, got, symbols, vocab, unk, total, best),
        )


def run_case(sub, text, vocab, unk=None):
    """Segment with the submission, check against brute force (short) or the reference."""
    __tracebackhide__ = True
    kwargs = {} if unk is None else {"unk_log_prob": unk}
    unk_value = -100.0 if unk is None else unk
    extra = "" if unk is None else f", unk_log_prob={unk}"
    call = f"segment({text!r}, {vocab_text(vocab)}{extra})"
    try:
        got = sub.segment(text, vocab, **kwargs)
    except RemoteException as exc:
        fail(f"{call} raised {exc.type_name}: {exc.remote_message[:200]}")
    best = best_score_brute_force(transformed(text), vocab, unk_value)
    check_segmentation(got, text, vocab, unk_value, best, call)
    return got


# ---------------------------------------------------------------- hand cases

CAT = {f"{SPACE}the": -2.0, f"{SPACE}cat": -3.0, SPACE: -4.0, "cat": -2.5, "the": -2.5, "c": -5.0, "at": -3.0}


@public
def test_the_cat(sub):
    """ "the cat" -> ["▁the", "▁cat"] (log-prob -5.0; ["▁the", "▁", "cat"] only reaches -8.5)"""
    got = run_case(sub, "the cat", CAT)
    check(got == [f"{SPACE}the", f"{SPACE}cat"], f'segment("the cat", ...) returned {got}, expected ["▁the", "▁cat"]')


@public
@pytest.mark.parametrize("vocab", [CAT, {"a": -1.0}], ids=["marker-is-a-piece", "marker-is-unknown"])
def test_empty_text(sub, vocab):
    """The empty text is just the leading marker: ["▁"], whether "▁" is a piece or an unknown character"""
    got = sub.segment("", vocab)
    check(
        got == [SPACE],
        f'segment("", {vocab_text(vocab)}) returned {got!r}, expected ["▁"]',
        diagnosis=lazy(diagnose_empty, sub, vocab, got),
    )


def diagnose_empty(sub, vocab, got):
    """[] for the empty text: a special case, or the unknown "▁" dropped?"""
    if got != []:
        return ""
    if SPACE not in vocab and sub.segment("", CAT) == [SPACE]:
        return ""  # the unknown "▁" is dropped: test_unknown_characters_stand_alone names that mistake
    if sub.segment(" ", vocab) == [SPACE, SPACE]:  # the markers are right on a text that is not empty
        return 'the empty text is special-cased as []: it is "▁" like any text gets its leading "▁"'
    return ""


def test_viterbi_beats_greedy_longest_match(sub):
    """ "abc": the long first piece "▁ab" forces a costly "c"; "▁a" + "bc" is better"""
    run_case(sub, "abc", {f"{SPACE}ab": -3.0, f"{SPACE}a": -2.0, "bc": -1.0, "c": -9.0, "b": -6.0})


def test_leading_marker(sub):
    """The text is prefixed with "▁": "hello" is segmented as "▁hello" """
    run_case(sub, "hello", {f"{SPACE}hello": -5.0, "hello": -1.0, SPACE: -1.0, "he": -1.0, "llo": -1.0})


@pytest.mark.parametrize("text", ["a  b", " a", "a ", "   ", "a b  c   d"])
def test_each_space_is_one_marker(sub, text):
    """Every space becomes one "▁", leading, trailing and repeated ones too (no collapsing)"""
    run_case(sub, text, {SPACE: -1.0, f"{SPACE}a": -1.5, f"{SPACE}{SPACE}": -1.2, "b": -2.0, f"{SPACE}b": -2.2})


def test_other_whitespace_is_ordinary(sub):
    """Only the space character becomes "▁"; a tab or a newline is an ordinary (here unknown) character"""
    run_case(sub, "a\tb\nc", {f"{SPACE}a": -1.0, "b": -1.0, "c": -1.0})


def test_unknown_characters_stand_alone(sub):
    """Characters that are no piece are emitted alone, each at unk_log_prob"""
    run_case(sub, "x€y日", {SPACE: -1.0, "y": -2.0})


@pytest.mark.parametrize("unk", [-5.0, -1000.0])
def test_unk_log_prob_takes_part_in_the_search(sub, unk):
    """With unk_log_prob=-5, two unknown characters (-10) beat the piece "xy" (-25); at -1000 they do not"""
    run_case(sub, "xy", {SPACE: -1.0, f"{SPACE}xy": -30.0, "xy": -25.0}, unk=unk)


def test_default_unk_log_prob_is_minus_100(sub):
    """By default an unknown character costs -100: "▁" + "q" (-101) beats "▁q" at -150 but not at -99"""
    run_case(sub, "q", {SPACE: -1.0, f"{SPACE}q": -150.0})
    run_case(sub, "q", {SPACE: -1.0, f"{SPACE}q": -102.0})


def test_unicode_text(sub):
    """Multi-byte characters are single symbols: CJK pieces and an emoji"""
    vocab = {f"{SPACE}日本": -2.0, "語": -1.5, f"{SPACE}日": -1.0, "本語": -2.0, SPACE: -1.0, "テキスト": -3.0}
    run_case(sub, "日本語 テキスト🙂", vocab)


def test_piece_longer_than_the_text(sub):
    """A vocabulary piece longer than the whole text does no harm"""
    run_case(sub, "ab", {f"{SPACE}ab": -1.0, "abcdefghijklmnop": -1.0, "a": -0.1, "b": -0.1, SPACE: -0.1})


def test_input_dict_not_modified(sub):
    """piece_log_probs is read, never changed"""
    sub.segment("the cat", dict(CAT))
    check_unchanged_inputs(sub, ["text", "piece_log_probs"])


# ---------------------------------------------------------------- brute force

SYMBOLS = ["a", "b", SPACE]
CANDIDATES = ["".join(p) for n in (1, 2, 3) for p in itertools.product(SYMBOLS, repeat=n)]


@settings(
    derandomize=True,
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    text=st.text(alphabet="ab c", max_size=8),
    vocab=st.dictionaries(
        st.sampled_from(CANDIDATES), st.sampled_from([-0.5, -1.0, -1.5, -2.0, -4.0]), min_size=1, max_size=14
    ),
    unk=st.sampled_from([-2.0, -3.0, -100.0]),
)
def test_optimal_against_all_segmentations(sub, text, vocab, unk):
    """Short random texts and vocabularies (many ties): the total log-prob equals the best of
    every possible segmentation; "c" is never a piece"""
    run_case(sub, text, vocab, unk)


# ---------------------------------------------------------------- size


def generated_case(n_chars, seed):
    """Zipf-distributed pseudo-words and a vocabulary of ~270 pieces up to 9 symbols long."""
    rng = random.Random(seed)
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]
    words = ["".join(rng.choice(syllables) for _ in range(rng.choice([1, 2, 2, 3, 3, 4]))) for _ in range(300)]
    cum_weights = list(itertools.accumulate(1 / rank for rank in range(1, len(words) + 1)))
    out, size = [], 0
    while size < n_chars:
        word = rng.choices(words, cum_weights=cum_weights)[0]
        out.append(word)
        size += len(word) + 1
    text = " ".join(out)[:n_chars]
    pieces = set("abdefgiklmnoprstuvz" + SPACE) | set(syllables) | {SPACE + w for w in words[:120]} | set(words[:80])
    vocab = {p: -rng.uniform(1.0, 3.0) * len(p) ** 0.5 - 2.0 for p in sorted(pieces)}
    return text, vocab


@time_limit(5)
def test_long_text_in_linear_time(sub, ref):
    """30,000 characters and ~270 pieces segmented within 5 s (O(n · max_piece_len) needs ~0.1 s)"""
    text, vocab = generated_case(30_000, seed=0)
    call = f"segment(<30,000 characters>, <{len(vocab)} pieces>)"
    got = sub.segment(text, vocab)
    want = ref.segment(text, vocab)
    best = sum(piece_score(p, vocab, -100.0) for p in want)
    check_segmentation(got, text, vocab, -100.0, best, call)
