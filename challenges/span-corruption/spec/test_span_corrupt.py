"""Specs for span_corrupt (T5's span corruption).

Hand cases worked out from the T5 paper's example (figure 2), adjacent spans, spans at the
start and end, the whole sequence as one span, no spans at all; random cases against a
plain-Python oracle and the reconstruction property (putting each target segment back in
place of its sentinel gives the tokens back); ValueError for unsorted, overlapping, empty
and out-of-range spans; the result types (lists of int) and the input left unchanged."""

import pytest
from hypothesis import Phase, given, settings
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

SETTINGS = settings(
    derandomize=True,
    max_examples=25,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    report_multiple_bugs=False,
)

# "Thank you for inviting me to your party last week ." with made-up ids
THANK_YOU = [37, 25, 21, 8, 140, 12, 39, 1088, 336, 471, 5]


# ---------------------------------------------------------------- oracle (plain Python)


def oracle(tokens, spans, start):
    """Expected (inputs, targets), written position by position."""
    owner = [None] * len(tokens)
    for j, (a, b) in enumerate(spans):
        for i in range(a, b):
            owner[i] = j
    inputs = []
    for i, t in enumerate(tokens):
        if owner[i] is None:
            inputs.append(t)
        elif i == spans[owner[i]][0]:
            inputs.append(start - owner[i])
    targets = []
    for j, (a, b) in enumerate(spans):
        targets += [start - j, *tokens[a:b]]
    return inputs, targets + [start - len(spans)]


def restore(inputs, targets, start, k):
    """Put each target segment back in place of its sentinel (sentinels: start - j, j < k)."""
    sentinels = {start - j for j in range(k)}
    segments, current = {}, None
    for t in targets:
        if t in sentinels or t == start - k:
            current = t
            segments.setdefault(t, [])
        elif current is not None:
            segments[current].append(t)
    out = []
    for t in inputs:
        out += segments.get(t, []) if t in sentinels else [t]
    return out


# ---------------------------------------------------------------- checks


def run(sub, tokens, spans, start):
    """Call span_corrupt and check the result is a pair of lists of int."""
    __tracebackhide__ = True
    what = f"span_corrupt({tokens if len(tokens) <= 12 else '<' + str(len(tokens)) + ' tokens>'}, {spans}, {start})"
    try:
        out = sub.span_corrupt(list(tokens), [tuple(s) for s in spans], start)
    except RemoteException as exc:
        adjacent = any(a == b for (_, b), (a, _) in zip(spans, spans[1:]))
        fail(
            f"{what} raised {exc.type_name}: {exc.remote_message[:200]}; these spans are valid.",
            diagnosis=lazy(diagnose_adjacent_rejected, sub) if adjacent and exc.type_name == "ValueError" else "",
        )
    check(
        isinstance(out, (tuple, list)) and len(out) == 2,
        f"{what}: should return a pair (inputs, targets), got {describe_value(out)}",
    )
    for name, value in zip(("inputs", "targets"), out):
        check(
            isinstance(value, list),
            f"{what}: {name} should be a list, got {describe_value(value)}",
            diagnosis=f"{name} is returned as a tuple: return lists (list(...))" if isinstance(value, tuple) else "",
        )
        bad = [v for v in value if type(v) is not int]
        check(not bad, f"{what}: {name} should hold Python ints, found {describe_value(bad[0]) if bad else ''}")
    check_unchanged(sub)
    return what, out[0], out[1]


def diagnose_adjacent_rejected(sub):
    """Adjacent spans raise while the same spans one token apart do not."""
    tokens = [10, 11, 12, 13, 14, 15]
    sub.span_corrupt(tokens, [(1, 2), (3, 4)], 99)  # raising here: not about adjacency
    try:
        sub.span_corrupt(tokens, [(1, 2), (2, 3)], 99)
    except RemoteException as exc:
        if exc.type_name == "ValueError":
            return "adjacent spans are rejected as overlapping: a span may start where the previous one ends"
    return ""


def check_unchanged(sub):
    """The last call left tokens and spans as they were."""
    __tracebackhide__ = True
    try:
        check_unchanged_inputs(sub, ["tokens", "spans", "sentinel_start"])
    except Mistake as mistake:
        fail(str(mistake), diagnosis="the caller's list is modified in place: build new lists for the result")


def build(tokens, spans, start, sentinel="down", final="new", per_token=False):
    """(inputs, targets) built span by span, with the mistakes as switches: ``sentinel`` "up"
    (start + j) or "position" (start - the span's start); ``final`` "none", "last" (the last
    span's sentinel again) or "position" (start - len(tokens)); ``per_token``: a sentinel for
    every hidden token."""
    inputs, targets, prev = [], [], 0
    for j, (a, b) in enumerate(spans):
        sent = {"down": start - j, "up": start + j, "position": start - a}[sentinel]
        inputs += tokens[prev:a] + [sent] * ((b - a) if per_token else 1)
        targets += [sent, *tokens[a:b]]
        prev = b
    inputs += tokens[prev:]
    k = len(spans)
    closing = {
        "new": [{"down": start - k, "up": start + k, "position": start - len(tokens)}[sentinel]],
        "none": [],
        "last": [start - k + 1] if k else [start],
    }[final]
    return inputs, targets + closing


def merged_adjacent(spans):
    out = []
    for a, b in spans:
        if out and out[-1][1] == a:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def diagnose(tokens, spans, start, inputs, targets):
    """The mistake whose variant gives exactly (inputs, targets), or ""."""
    n = len(tokens)
    variants = [
        (
            lambda: build(tokens, spans, start, final="none"),
            "the final sentinel is missing: the targets end with one more sentinel, sentinel_start - len(spans)",
        ),
        (
            lambda: build(tokens, spans, start, final="last"),
            "the targets are closed with the last span's sentinel: the final sentinel is a new one, "
            "sentinel_start - len(spans)",
        ),
        (
            lambda: build(tokens, spans, start, sentinel="up"),
            "the sentinels count up: they count down, span j uses sentinel_start - j (T5's <extra_id_0> = 32099, "
            "<extra_id_1> = 32098)",
        ),
        (
            lambda: build(tokens, spans, start, sentinel="position"),
            "the sentinels are numbered by the span's start position: span j (its index in spans) uses "
            "sentinel_start - j",
        ),
        (
            lambda: build(tokens, spans, start, per_token=True),
            "every hidden token gets a sentinel: each span becomes a single sentinel, however many tokens it holds",
        ),
        (
            lambda: build(tokens, [(a, min(b + 1, n)) for a, b in spans], start),
            "spans are taken as closed [start, end]: they are half-open, tokens[end] is kept",
        ),
        (
            lambda: build(tokens, merged_adjacent(spans), start),
            "adjacent spans are merged into one: each span keeps its own sentinel",
        ),
    ]
    for variant, why in variants:
        if variant() == (inputs, targets):
            return why
    return ""


def first_difference(name, got, want):
    for i, (g, w) in enumerate(zip(got, want)):
        if g != w:
            return f"{name}[{i}] is {g}, expected {w}"
    return f"{name} has {len(got)} ids, expected {len(want)}"


def check_case(sub, tokens, spans, start):
    __tracebackhide__ = True
    what, inputs, targets = run(sub, tokens, spans, start)
    want_in, want_tg = oracle(tokens, spans, start)
    if inputs != want_in or targets != want_tg:
        where = (
            first_difference("inputs", inputs, want_in)
            if inputs != want_in
            else first_difference("targets", targets, want_tg)
        )
        fail(
            f"{what}: wrong result; {where} (got inputs {inputs}, targets {targets}).",
            diagnosis=lazy(diagnose, tokens, spans, start, inputs, targets),
        )


# ---------------------------------------------------------------- hand cases


@public
def test_t5_paper_example(sub):
    """T5's example: two spans, three sentinels."""
    # inputs: Thank you <X> me to your party <Y> week .   targets: <X> for inviting <Y> last <Z>
    what, inputs, targets = run(sub, THANK_YOU, [(2, 4), (8, 9)], 32099)
    want = ([37, 25, 32099, 140, 12, 39, 1088, 32098, 471, 5], [32099, 21, 8, 32098, 336, 32097])
    check(
        (inputs, targets) == want,
        f"{what}: expected inputs {want[0]} and targets {want[1]}, got {inputs} and {targets}.",
        diagnosis=lazy(diagnose, THANK_YOU, [(2, 4), (8, 9)], 32099, inputs, targets),
    )


@public
def test_adjacent_spans(sub):
    """Adjacent spans keep separate sentinels."""
    check_case(sub, [10, 11, 12, 13, 14, 15], [(1, 3), (3, 5)], 100)


def test_single_token_spans_everywhere(sub):
    """Every token its own span."""
    check_case(sub, [7, 8, 9], [(0, 1), (1, 2), (2, 3)], 50)


@pytest.mark.parametrize(
    "tokens, spans",
    [
        ([1, 2, 3, 4, 5, 6, 7], [(0, 2), (5, 7)]),
        ([1, 2, 3, 4], [(0, 1)]),
        ([1, 2, 3, 4], [(3, 4)]),
        ([4, 5, 6], [(0, 3)]),
        ([9], [(0, 1)]),
    ],
    ids=["start-and-end", "first-token", "last-token", "whole-sequence", "one-token"],
)
def test_spans_at_the_edges(sub, tokens, spans):
    """Spans at the start, the end, or covering all."""
    check_case(sub, tokens, spans, 200)


@public
@pytest.mark.parametrize("tokens", [[3, 1, 4, 1, 5], []], ids=["five-tokens", "empty"])
def test_no_spans(sub, tokens):
    """No spans: inputs = tokens, targets = [start]."""
    what, inputs, targets = run(sub, tokens, [], 32099)
    check(inputs == tokens, f"{what}: with no spans the inputs are the tokens, got {inputs}")
    check(targets == [32099], f"{what}: with no spans the targets are just [sentinel_start] = [32099], got {targets}")


def test_other_sentinel_start(sub):
    """Sentinels follow sentinel_start, whatever it is."""
    check_case(sub, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], [(0, 3), (4, 5), (6, 9)], 12)


# ---------------------------------------------------------------- random cases


@st.composite
def cases(draw):
    tokens = draw(st.lists(st.integers(0, 499), max_size=30))
    spans, pos = [], 0
    while draw(st.booleans()):
        gap, length = draw(st.integers(0, 4)), draw(st.integers(1, 6))
        if pos + gap + length > len(tokens):
            break
        spans.append((pos + gap, pos + gap + length))
        pos += gap + length
    return tokens, spans, draw(st.sampled_from([1000, 32099, 250_000]))


@SETTINGS
@given(case=cases())
def test_reconstruction(sub, case):
    """Targets put back into inputs give the tokens."""
    tokens, spans, start = case
    what, inputs, targets = run(sub, tokens, spans, start)
    back = restore(inputs, targets, start, len(spans))
    check(
        back == tokens,
        f"{what}: replacing each sentinel in inputs by the tokens that follow it in targets does not give the "
        "tokens back.",
        diagnosis=lazy(diagnose, tokens, spans, start, inputs, targets),
    )
    want_in, want_tg = oracle(tokens, spans, start)
    check(
        len(inputs) == len(want_in) and len(targets) == len(want_tg),
        f"{what}: inputs should have {len(want_in)} ids (kept tokens + one sentinel per span) and targets "
        f"{len(want_tg)} (hidden tokens + one sentinel per span + the final one); got {len(inputs)} and "
        f"{len(targets)}.",
        diagnosis=lazy(diagnose, tokens, spans, start, inputs, targets),
    )


@SETTINGS
@given(case=cases())
def test_matches_oracle(sub, case):
    """Random tokens and spans: exact result."""
    tokens, spans, start = case
    check_case(sub, tokens, spans, start)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "spans",
    [
        [(4, 6), (1, 2)],
        [(1, 4), (3, 5)],
        [(1, 6), (2, 3)],
        [(2, 4), (2, 4)],
        [(2, 2)],
        [(3, 1)],
        [(5, 9)],
        [(-1, 2)],
        [(0, 2), (8, 8)],
    ],
    ids=[
        "unsorted",
        "overlapping",
        "nested",
        "repeated",
        "empty",
        "reversed",
        "end-past-length",
        "negative",
        "empty-at-end",
    ],
)
def test_invalid_spans_raise(sub, spans):
    """Bad spans raise ValueError."""
    tokens = [10, 11, 12, 13, 14, 15, 16, 17]
    call = f"span_corrupt(<8 tokens>, {spans}, 99)"
    try:
        expect_raises(ValueError, sub.span_corrupt, tokens, spans, 99, call=call)
    except Mistake as mistake:
        fail(
            f"{mistake} Spans must be sorted, non-overlapping, non-empty [start, end) ranges with "
            "0 <= start < end <= len(tokens).",
            diagnosis=lazy(diagnose_accepted, sub, tokens, spans),
        )


def diagnose_accepted(sub, tokens, spans):
    """Which rule a returned result skipped."""
    if any(not a < b for a, b in spans):
        return "an empty or reversed span (start >= end) is not rejected: a span hides at least one token"
    if any(a < 0 or b > len(tokens) for a, b in spans):
        return "spans outside the sequence are not rejected: 0 <= start < end <= len(tokens)"
    if sorted(spans) != spans and list(sub.span_corrupt(tokens, spans, 99)) == list(build(tokens, sorted(spans), 99)):
        return "unsorted spans are sorted instead of rejected: raise ValueError"
    return "spans that are unsorted or overlap are not rejected: each start must be >= the previous span's end"


def test_input_lists_unchanged(sub):
    """tokens and spans are not modified."""
    tokens, spans = [5, 6, 7, 8, 9, 10], [(1, 2), (3, 5)]
    sub.span_corrupt(tokens, spans, 77)
    check_unchanged(sub)
    spans_as_lists = [[0, 2], [4, 6]]
    out = sub.span_corrupt(tokens, spans_as_lists, 77)
    check(
        tuple(out[0]) == (77, 7, 8, 76) and tuple(out[1]) == (77, 5, 6, 76, 9, 10, 75),
        f"span_corrupt({tokens}, {spans_as_lists}, 77): spans given as 2-element lists should work like tuples",
    )
