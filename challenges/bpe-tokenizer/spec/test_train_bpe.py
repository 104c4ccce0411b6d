"""Specs for train_bpe: hand cases, the first-occurrence tie-break, every adjacent position
counted, non-overlapping left-to-right merging, stopping, errors, agreement with a plain
recount-every-merge oracle, and a time limit on 50 KB of text."""

import itertools
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.spec import Mistake, RemoteException, check, describe_value, expect_raises, fail, lazy, public, time_limit

# ---------------------------------------------------------------- oracle and diagnosis


def merge_pair(ids, pair, new_id, right_to_left=False, replace_overlaps=False, drop_last=False):
    """Replace the non-overlapping occurrences of ``pair`` by ``new_id`` (left to right).
    The flags are mistakes: scanning right to left, replacing overlapping hits too, a scan
    that stops before the last token and so loses it when it is not part of a merged pair."""
    if right_to_left:
        return merge_pair(ids[::-1], pair[::-1], new_id)[::-1]
    if replace_overlaps:
        out = list(ids)
        for i in [i for i in range(len(ids) - 1) if (ids[i], ids[i + 1]) == pair]:
            out[i], out[i + 1] = new_id, None
        return [t for t in out if t is not None]
    out, i = [], 0
    while i < len(ids) - (1 if drop_last else 0):
        if i + 1 < len(ids) and ids[i] == pair[0] and ids[i + 1] == pair[1]:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def pair_counts(ids, overlapping=True):
    """{pair: count}, in order of first occurrence; overlapping=False counts "aaa" once."""
    counts, i = {}, 0
    while i + 1 < len(ids):
        pair = (ids[i], ids[i + 1])
        counts[pair] = counts.get(pair, 0) + 1
        i += 2 if (not overlapping and pair[0] == pair[1]) else 1
    return counts


def oracle_train(
    text,
    vocab_size,
    tie="first",
    overlapping=True,
    right_to_left=False,
    replace_overlaps=False,
    drop_last=False,
    stale=None,
):
    """Plain BPE: recount every pair after each merge. ``tie`` picks among the most frequent
    pairs: "first" (the rule), "last" (latest first occurrence), "smallest", "largest".
    ``stale`` is the mistake of counting the pairs once, on the bytes, and never again:
    "same" takes the same most frequent pair at every step, "next" takes the counted pairs
    in order of their first count."""
    ids, merges = list(text.encode("utf-8")), []
    stale_counts = pair_counts(ids, overlapping) if stale else None
    while 256 + len(merges) < vocab_size and len(ids) >= 2:
        counts = stale_counts if stale else pair_counts(ids, overlapping)
        if not counts:
            break
        top = max(counts.values())
        tied = [pair for pair, count in counts.items() if count == top]  # in first-occurrence order
        pair = {"first": tied[0], "last": tied[-1], "smallest": min(tied), "largest": max(tied)}[tie]
        if stale == "next":
            del stale_counts[pair]
        merges.append(pair)
        ids = merge_pair(ids, pair, 255 + len(merges), right_to_left, replace_overlaps, drop_last)
    return merges


TIE_BREAK = "take the pair whose first occurrence in the current sequence comes earliest"
MISTAKES = [
    ({"tie": "smallest"}, f"ties are broken towards the smallest pair (lexicographic): {TIE_BREAK}"),
    ({"tie": "largest"}, f"ties are broken towards the largest pair: {TIE_BREAK}"),
    ({"tie": "last"}, f"ties are broken towards the pair that occurs last: {TIE_BREAK}"),
    (
        {"overlapping": False},
        'a run like "aaa" is counted as one (a, a): every adjacent position counts, so it holds two',
    ),
    ({"right_to_left": True}, 'occurrences are merged right to left ("aaa" -> [a, X]): merge left to right'),
    (
        {"replace_overlaps": True},
        'overlapping occurrences are all replaced ("aaa" -> [X, X]): a token joins at most one merge',
    ),
    (
        {"drop_last": True},
        "the merge step loses the last token when it is not part of the merged pair "
        "(the scan stops one position early)",
    ),
    (
        {"stale": "same"},
        "the pair counts are not recounted after a merge: the same pair is merged again at every step",
    ),
    (
        {"stale": "next"},
        "the pair counts are taken once, before the first merge, and not recounted after each merge",
    ),
]


def diagnose_train(got, text, vocab_size):
    """The mistake whose variant of plain BPE gives exactly ``got`` (and the rule does not)."""
    matches = [why for variant, why in MISTAKES if got == oracle_train(text, vocab_size, **variant)]
    if len(matches) == 1:
        return matches[0]
    if matches and all(why.endswith(TIE_BREAK) for why in matches):
        return f"ties between equally frequent pairs are broken another way: {TIE_BREAK}"
    return ""


def as_merges(got, call):
    """The submission's merges as a list of int tuples, or a failure saying what came back."""
    __tracebackhide__ = True
    if not isinstance(got, (list, tuple)):
        fail(f"{call} should return a list of (int, int) pairs, got {describe_value(got)}")
    for item in got:
        if not (isinstance(item, (list, tuple)) and len(item) == 2 and all(type(x) is int for x in item)):
            fail(f"{call} should return a list of (int, int) pairs, but one element is {describe_value(item)}")
    return [tuple(item) for item in got]


def check_merges(got, text, vocab_size, call, show=False):
    """Compare with the oracle; name the first wrong merge and, when recognised, the mistake."""
    __tracebackhide__ = True
    got = as_merges(got, call)
    want = oracle_train(text, vocab_size)
    if got == want:
        return
    diagnosis = lazy(diagnose_train, got, text, vocab_size)
    if show:
        fail(f"{call} returned {got}, expected {want}.", diagnosis=diagnosis)
    if len(got) != len(want):
        fail(
            f"{call} returned {len(got)} merges, expected {len(want)} (stop at vocab_size ids, or when fewer "
            f"than 2 tokens remain).",
            diagnosis=diagnosis,
        )
    k = next(i for i, (g, w) in enumerate(zip(got, want)) if g != w)
    fail(f"{call}: merge {k} (id {256 + k}) is {got[k]}, expected {want[k]}.", diagnosis=diagnosis)


def generated_text(n_chars, seed):
    """Deterministic pseudo-words: Zipf-distributed words made of consonant-vowel syllables."""
    rng = random.Random(seed)
    syllables = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"] + [c + v + "n" for c in "kst" for v in "aeiou"]
    words = ["".join(rng.choice(syllables) for _ in range(rng.choice([1, 2, 2, 3, 3, 4]))) for _ in range(400)]
    cum_weights = list(itertools.accumulate(1 / rank for rank in range(1, len(words) + 1)))
    out, size = [], 0
    while size < n_chars:
        word = rng.choices(words, cum_weights=cum_weights)[0]
        out.append(word)
        size += len(word) + 1
    return " ".join(out)[:n_chars]


# ---------------------------------------------------------------- hand cases


@public
def test_hand_case_aaabdaaabac(sub):
    """train_bpe("aaabdaaabac", 259): (a, a), then the tie (Z, a) vs (a, b) goes to the earlier (Z, a)"""
    check_merges(sub.train_bpe("aaabdaaabac", 259), "aaabdaaabac", 259, 'train_bpe("aaabdaaabac", 259)', show=True)


@public
def test_run_of_three_counts_twice_and_merges_left_to_right(sub):
    """ "aaab": (a, a) occurs twice (positions 0 and 1) and "aaa" becomes [X, a]"""
    check_merges(sub.train_bpe("aaab", 300), "aaab", 300, 'train_bpe("aaab", 300)', show=True)


@pytest.mark.parametrize("vocab_size", [257, 262])
def test_tie_goes_to_earliest_first_occurrence(sub, vocab_size):
    """ "bdacbdacb": four pairs occur twice each; the earliest one, (b, d), wins every tie"""
    text = "bdacbdacb"
    check_merges(sub.train_bpe(text, vocab_size), text, vocab_size, f"train_bpe({text!r}, {vocab_size})")


@pytest.mark.parametrize("text", ["aaa bc bc", "xaaaay aaa"])
def test_every_adjacent_position_counts(sub, text):
    """A run "aaa" holds (a, a) twice, which decides the first merge here"""
    check_merges(sub.train_bpe(text, 258), text, 258, f"train_bpe({text!r}, 258)")


@pytest.mark.parametrize("text", ["aaaa", "aaaaa", "abababa", "aaabaaab"])
def test_overlapping_occurrences_merge_left_to_right(sub, text):
    """Runs of a repeated pair: non-overlapping occurrences are replaced from the left"""
    check_merges(sub.train_bpe(text, 300), text, 300, f"train_bpe({text!r}, 300)")


# ---------------------------------------------------------------- stopping and errors


@pytest.mark.parametrize("text", ["", "a", "ab", "aaaa", "日本"])
def test_stops_when_fewer_than_two_tokens_remain(sub, text):
    """With a large vocab_size, training ends when the sequence is a single token (or empty)"""
    call = f"train_bpe({text!r}, 1000)"
    try:
        got = sub.train_bpe(text, 1000)
    except RemoteException as exc:
        fail(
            f"{call} raised {exc.type_name}: {exc.remote_message[:200]}",
            diagnosis=lazy(diagnose_no_stop, sub, text),
        )
    check_merges(got, text, 1000, call)


def diagnose_no_stop(sub, text):
    """Training runs on when no pair is left, if it succeeds with a vocab_size it can reach."""
    exact = 256 + len(oracle_train(text, 1000))
    if as_merges(sub.train_bpe(text, exact), "train_bpe") == oracle_train(text, exact):
        return "training does not stop when fewer than 2 tokens remain (no pair is left to count)"
    return ""


def test_vocab_size_256_gives_no_merges(sub):
    """vocab_size = 256 is the bytes alone: no merge"""
    got = as_merges(sub.train_bpe("hello hello", 256), 'train_bpe("hello hello", 256)')
    check(got == [], f'train_bpe("hello hello", 256) should return [], got {got}')


@pytest.mark.parametrize("vocab_size", [255, 0, -5])
def test_vocab_size_below_256_raises(sub, vocab_size):
    """vocab_size < 256 cannot hold the bytes: ValueError"""
    call = f'train_bpe("abc", {vocab_size})'
    try:
        expect_raises(ValueError, sub.train_bpe, "abc", vocab_size, call=call)
    except Mistake as mistake:
        returned = "returned" in str(mistake)
        diagnosis = "vocab_size below 256 is not rejected: raise ValueError" if returned else ""
        fail(str(mistake), diagnosis=diagnosis)


# ---------------------------------------------------------------- against the oracle


@settings(
    derandomize=True,
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=st.text(alphabet="ab c\né", max_size=40), vocab_size=st.integers(256, 290))
def test_merges_match_plain_bpe_on_random_text(sub, text, vocab_size):
    """Random short texts over a small alphabet (many ties and runs) against plain BPE"""
    check_merges(sub.train_bpe(text, vocab_size), text, vocab_size, f"train_bpe({text!r}, {vocab_size})")


@pytest.mark.parametrize(
    "text, vocab_size",
    [
        ("naïve café, naïve café 🙂🙂 日本語日本語", 300),
        ("the cat sat on the mat; the cat ate the rat.\n" * 3, 320),
    ],
)
def test_merges_on_unicode_and_sentences(sub, text, vocab_size):
    """Multi-byte UTF-8 (accents, emoji, CJK) and repeated sentences against plain BPE"""
    check_merges(sub.train_bpe(text, vocab_size), text, vocab_size, f"train_bpe(<{len(text)} chars>, {vocab_size})")


def test_no_state_kept_between_calls(sub):
    """Two calls on the same text give the same merges (no state kept between calls)"""
    first = as_merges(sub.train_bpe("abcabc abc", 260), 'train_bpe("abcabc abc", 260)')
    sub.train_bpe("zzzz yyyy", 258)
    second = as_merges(sub.train_bpe("abcabc abc", 260), 'train_bpe("abcabc abc", 260)')
    check(first == second, "train_bpe gave different merges for the same text on a second call: is state kept?")


# ---------------------------------------------------------------- size


@time_limit(12)
def test_training_on_50kb_is_fast_enough(sub, ref):
    """50,000 characters of generated words trained to 600 ids within 12 s.

    A plain recount of all pairs after each merge takes 1-3 s here; recounting each pair
    with its own scan of the sequence takes minutes."""
    text = generated_text(50_000, seed=0)
    got = as_merges(sub.train_bpe(text, 600), "train_bpe(<50,000 chars of generated words>, 600)")
    want = ref.train_bpe(text, 600)
    if got != want:
        k = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), min(len(got), len(want)))
        fail(
            f"train_bpe(<50,000 chars of generated words>, 600) returned {len(got)} merges (expected "
            f"{len(want)}); the first difference is at merge {k}"
        )
