"""Specs for encode and decode: hand cases, merge order by index (not frequency), agreement
with a plain oracle, the round trip over arbitrary Unicode, invalid UTF-8, unknown ids and
hygiene."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.spec import (
    Mistake,
    RemoteException,
    check,
    check_unchanged_inputs,
    describe_value,
    expect_raises,
    fail,
    lazy,
    public,
)

# every UTF-8 length (1 to 4 bytes), no surrogates; built from code points rather than
# st.characters(), which would rebuild Hypothesis's Unicode table in each fresh judge
UNICODE_CHAR = st.one_of(
    st.integers(0, 0x7F),
    st.integers(0x80, 0x7FF),
    st.integers(0x800, 0xD7FF) | st.integers(0xE000, 0xFFFF),
    st.integers(0x10000, 0x10FFFF),
).map(chr)
UNICODE_TEXT = st.lists(UNICODE_CHAR, max_size=60).map("".join)

HAND_MERGES = [(97, 97), (256, 97), (257, 98)]  # train_bpe("aaabdaaabac", 259)
CORPUS = (
    "Byte pair encoding merges frequent pairs. Byte pair encoding is simple!\n"
    "naïve café · crème brûlée · 日本語のテキスト · 日本語 · 🙂🙂🙂 👨‍👩‍👧 ✓ ✓\n"
    "tabs\tand\r\nnewlines, numbers 12345 12345 and symbols <>[]{} <>[]{}\n"
) * 2


@pytest.fixture(scope="module")
def corpus_merges(ref):
    """Merges trained on a mixed-script corpus (plain ASCII, accents, CJK, emoji, controls)."""
    return ref.train_bpe(CORPUS, 340)


def oracle_encode(text, merges, by_frequency=False, right_to_left=False, replace_overlaps=False, drop_last=False):
    """Apply the merges in order of their index (each once suffices: a merge never creates a
    pair of an earlier merge). The flags are mistakes: merging the most frequent applicable
    pair first, scanning right to left, replacing overlapping occurrences too, a scan that
    loses the last token when it is not part of the merged pair."""
    ids = list(text.encode("utf-8"))
    rank = {tuple(pair): 256 + i for i, pair in enumerate(merges)}
    while len(ids) >= 2:
        counts = {}
        for pair in zip(ids, ids[1:]):
            if pair in rank:
                counts[pair] = counts.get(pair, 0) + 1
        if not counts:
            break
        if by_frequency:
            pair = min(counts, key=lambda p: (-counts[p], rank[p]))  # noqa: B023 - used at once
        else:
            pair = min(counts, key=rank.get)
        ids = merge_pair(ids, pair, rank[pair], right_to_left, replace_overlaps, drop_last)
    return ids


def merge_pair(ids, pair, new_id, right_to_left=False, replace_overlaps=False, drop_last=False):
    """Replace the non-overlapping occurrences of ``pair`` by ``new_id``, left to right
    (the flags are the mistakes of ``oracle_encode``)."""
    if right_to_left:
        return merge_pair(ids[::-1], pair[::-1], new_id)[::-1]
    if replace_overlaps:
        out = list(ids)
        for i in [i for i in range(len(ids) - 1) if (ids[i], ids[i + 1]) == pair]:
            out[i], out[i + 1] = new_id, None
        return [t for t in out if t is not None]
    out, i = [], 0
    while i < len(ids) - (1 if drop_last else 0):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


ENCODE_MISTAKES = [
    ({"by_frequency": True}, "encode merges the most frequent pair first: always apply the lowest merge index present"),
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
]


def diagnose_encode(text, merges, got):
    """The mistake whose variant of encode gives exactly ``got`` (and the rule does not)."""
    matches = [why for variant, why in ENCODE_MISTAKES if got == oracle_encode(text, merges, **variant)]
    return matches[0] if len(matches) == 1 else ""


def check_ids(got, text, merges, call, show=False):
    """Compare encode's answer with the oracle's; name the first wrong id and, when
    recognised, the mistake."""
    __tracebackhide__ = True
    if not isinstance(got, list) or not all(type(i) is int for i in got):
        fail(f"{call} should return a list of ints, got {describe_value(got)}")
    want = oracle_encode(text, merges)
    if got == want:
        return
    diagnosis = lazy(diagnose_encode, text, merges, got)
    if show:
        fail(f"{call} returned {got}, expected {want}.", diagnosis=diagnosis)
    if len(got) != len(want):
        fail(f"{call} returned {len(got)} ids, expected {len(want)}.", diagnosis=diagnosis)
    k = next(i for i, (g, w) in enumerate(zip(got, want)) if g != w)
    fail(f"{call}: id {k} is {got[k]}, expected {want[k]}.", diagnosis=diagnosis)


def call_decode(sub, ids, merges, call):
    """decode, turning a UnicodeDecodeError into a Wrong Answer that says why."""
    __tracebackhide__ = True
    try:
        return sub.decode(ids, merges)
    except RemoteException as exc:
        if exc.type_name == "UnicodeDecodeError":
            fail(
                f"{call} raised UnicodeDecodeError: {exc.remote_message[:200]}",
                diagnosis='the bytes are decoded strictly: decode them with errors="replace"',
            )
        raise


# ---------------------------------------------------------------- encode


@public
def test_hand_case_encode_and_decode(sub):
    """The merges of "aaabdaaabac" encode it as [258, 100, 258, 97, 99] and decode back"""
    call = 'encode("aaabdaaabac", [(97, 97), (256, 97), (257, 98)])'
    check_ids(sub.encode("aaabdaaabac", HAND_MERGES), "aaabdaaabac", HAND_MERGES, call, show=True)
    text = call_decode(sub, [258, 100, 258, 97, 99], HAND_MERGES, "decode([258, 100, 258, 97, 99], merges)")
    check(text == "aaabdaaabac", f"decode([258, 100, 258, 97, 99], merges) returned {text!r}, expected 'aaabdaaabac'")


def test_encode_applies_lowest_merge_index_first(sub):
    """With merges [(a, b), (b, c)], "abcbcbc" takes (a, b) first although (b, c) is more frequent"""
    merges = [(97, 98), (98, 99)]
    got = sub.encode("abcbcbc", merges)
    check_ids(got, "abcbcbc", merges, 'encode("abcbcbc", [(97, 98), (98, 99)])', show=True)


@pytest.mark.parametrize("text", ["aaa", "aaaaaa", "baaab"])
def test_encode_merges_left_to_right_without_overlap(sub, text):
    """Runs of "a" with merges [(a, a), (X, a)]: "aaa" is [X, a] before the second merge"""
    merges = [(97, 97), (256, 97)]
    check_ids(sub.encode(text, merges), text, merges, f"encode({text!r}, [(97, 97), (256, 97)])")


def test_encode_empty_text(sub, corpus_merges):
    """encode("") is []"""
    check_ids(sub.encode("", corpus_merges), "", corpus_merges, 'encode("", merges)', show=True)


def test_encode_without_merges_gives_the_bytes(sub):
    """With no merges, the ids are the UTF-8 bytes"""
    text = "héllo 🙂"
    check_ids(sub.encode(text, []), text, [], f"encode({text!r}, [])")


def test_encode_training_text(sub, corpus_merges):
    """The training corpus itself (mixed scripts) with its own 84 merges"""
    got = sub.encode(CORPUS, corpus_merges)
    check_ids(got, CORPUS, corpus_merges, "encode(<training corpus>, merges)")


@settings(
    derandomize=True,
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=UNICODE_TEXT | st.text(alphabet="Byte pair日本語 🙂\n", max_size=60))
def test_encode_matches_oracle_on_random_text(sub, corpus_merges, text):
    """Random Unicode text, encoded with merges trained on a mixed-script corpus"""
    got = sub.encode(text, corpus_merges)
    check_ids(got, text, corpus_merges, f"encode({text!r}, merges)")


# ---------------------------------------------------------------- decode and the round trip


@pytest.mark.parametrize(
    "text",
    ["", "\x00\x01\x1b\x7f", "🙂👨‍👩‍👧", "日本語のテキスト", "a\r\nb\tc", "Byte pair encoding merges"],
)
def test_round_trip(sub, corpus_merges, text):
    """decode(encode(s)) == s: empty string, control characters, emoji with joiners, CJK, whitespace"""
    ids = sub.encode(text, corpus_merges)
    back = call_decode(sub, ids, corpus_merges, f"decode(encode({text!r}))")
    check(back == text, f"decode(encode({text!r})) returned {back!r}")


@settings(
    derandomize=True,
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(text=UNICODE_TEXT)
def test_round_trip_on_random_unicode(sub, corpus_merges, text):
    """decode(encode(s)) == s for random Unicode text (1- to 4-byte characters, no surrogates)"""
    ids = sub.encode(text, corpus_merges)
    back = call_decode(sub, ids, corpus_merges, f"decode(encode({text!r}))")
    check(back == text, f"decode(encode({text!r})) returned {back!r}")


@pytest.mark.parametrize(
    "ids, merges",
    [
        ([255], []),
        ([104, 0x80, 105], []),
        ([0xE6, 0x97], []),  # the first two bytes of 日
        ([256, 97], [(0xE6, 0x97)]),  # a merged token that is half a character
        ([0xF0, 0x9F, 0x99], []),  # a truncated emoji
    ],
)
def test_decode_replaces_invalid_utf8(sub, ids, merges):
    """Bytes that are not valid UTF-8 decode as bytes.decode("utf-8", errors="replace") does"""
    vocab = {b: bytes([b]) for b in range(256)}
    for i, (a, b) in enumerate(merges):
        vocab[256 + i] = vocab[a] + vocab[b]
    want = b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")
    call = f"decode({ids}, {merges})"
    got = call_decode(sub, ids, merges, call)
    check(got == want, f"{call} returned {got!r}, expected {want!r} (errors='replace')")


@pytest.mark.parametrize("ids", [[259], [97, 1000], [-1]])
def test_decode_unknown_id_raises(sub, ids):
    """With 3 merges the ids are 0..258: anything else is a ValueError"""
    call = f"decode({ids}, <3 merges>)"
    try:
        expect_raises(ValueError, sub.decode, ids, HAND_MERGES, call=call)
    except Mistake as mistake:
        fail(
            f"{mistake} An id that is neither a byte nor a merge must raise.",
            diagnosis=lazy(diagnose_unknown_ids, sub, ids),
        )


def diagnose_unknown_ids(sub, ids):
    """decode gives the text of the known ids alone: the unknown ones were skipped."""
    known = [i for i in ids if 0 <= i < 256 + len(HAND_MERGES)]
    if sub.decode(ids, HAND_MERGES) == sub.decode(known, HAND_MERGES) == oracle_decode(known, HAND_MERGES):
        return "decode skips unknown ids instead of raising ValueError"
    return ""


def oracle_decode(ids, merges):
    vocab = {b: bytes([b]) for b in range(256)}
    for i, (a, b) in enumerate(merges):
        vocab[256 + i] = vocab[a] + vocab[b]
    return b"".join(vocab[i] for i in ids).decode("utf-8", errors="replace")


def test_inputs_not_modified(sub, corpus_merges):
    """encode and decode leave the merges and ids they are given unchanged"""
    ids = sub.encode("pair encoding", corpus_merges)
    check_unchanged_inputs(sub, ["text", "merges"])
    sub.decode(ids, corpus_merges)
    check_unchanged_inputs(sub, ["ids", "merges"])
