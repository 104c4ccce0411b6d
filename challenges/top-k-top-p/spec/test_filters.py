"""Specs for top_k_filter and top_p_filter: exact keep/remove decisions against a simple
per-row Python oracle in float64 (and hand cases), ties, k >= V, p = 1, tiny p, the
crossing token, pre-masked -inf entries, leading batch dims, float16, errors and hygiene.
Fixtures keep every cumulative probability at least 1e-4 away from p unless the boundary is
the point of the test."""

import math

import pytest
import torch
from hypothesis import Phase, assume, given, settings
from hypothesis import strategies as st

from grader.spec import check, check_close, check_unchanged_inputs, describe, fail, public, randn

INF = float("inf")
SETTINGS = settings(
    derandomize=True,
    max_examples=25,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    report_multiple_bugs=False,
)

# ---------------------------------------------------------------- oracles (plain Python, float64)


def _rows(x):
    """The rows of ``x`` (..., V) as lists of Python floats."""
    return x.double().reshape(-1, x.shape[-1]).tolist()


def keep_top_k(x, k):
    """Bool tensor (..., V): entries >= the row's k-th largest value (all of them if k >= V)."""
    out = []
    for row in _rows(x):
        kth = sorted(row, reverse=True)[min(k, len(row)) - 1]
        out.append([v >= kth for v in row])
    return torch.tensor(out, dtype=torch.bool).reshape(x.shape)


def keep_top_p(x, p):
    """(bool tensor (..., V), margin): the nucleus of each row, and the smallest distance
    between p and any cumulative probability of the sorted rows (for boundary safety)."""
    out, margin = [], INF
    for row in _rows(x):
        top = max(row)
        w = [math.exp(v - top) for v in row]
        total = sum(w)
        probs = [v / total for v in w]
        order = sorted(range(len(row)), key=lambda i: -probs[i])  # Python's sort is stable
        keep, cum = [False] * len(row), 0.0
        for i in order:
            if cum < p or p >= 1.0:
                keep[i] = True
            cum += probs[i]
            margin = min(margin, abs(cum - p))
        out.append(keep)
    return torch.tensor(out, dtype=torch.bool).reshape(x.shape), margin


def apply(x, keep):
    """``x`` with the entries outside ``keep`` set to -inf (the expected output)."""
    return x.masked_fill(~keep, -INF)


# ---------------------------------------------------------------- diagnosis and checking


def check_filter(got, x, keep, *, what, inputs, device, hint="", alternatives=()):
    """The result must be ``x`` with exactly the entries outside ``keep`` set to -inf."""
    __tracebackhide__ = True
    check(hasattr(got, "detach"), f"{what} should be a torch tensor, got {type(got).__name__}. Inputs: {inputs}.")
    if tuple(got.shape) == tuple(x.shape):
        g, xd = got.double(), x.double()
        finite = xd != -INF  # entries that were -inf already stay -inf whatever the filter does
        zeroed = finite & ~keep & (g == 0) & (xd != 0)
        if zeroed.any():
            fail(
                f"{what}: removed entries should be set to -inf, not 0 (a logit of 0 is still a likely token). "
                f"Inputs: {inputs}."
            )
        got_keep = finite & (g != -INF)
        if not torch.equal(got_keep, finite & keep):
            for alt_keep, message in alternatives:
                if torch.equal(got_keep, finite & alt_keep):
                    fail(f"{what} keeps the wrong entries: {message} Inputs: {inputs}.")
            n_exp, n_got = int((finite & keep).sum()), int(got_keep.sum())
            fail(
                f"{what} keeps the wrong entries ({n_got} finite entries kept, expected {n_exp}). "
                f"Inputs: {inputs}. {hint}"
            )
    check_close(got, apply(x, keep), what=what, inputs=inputs, hint=hint, rtol=0, atol=0, device=device)


def run_top_k(sub, x, k, device, *, what=None, hint="", extra=()):
    got = sub.top_k_filter(x, k)
    keep = keep_top_k(x, k)
    alts = (
        [
            (
                exactly_k(x, k),
                f"it keeps exactly k={k} per row, but ties with the k-th largest value must all be "
                "kept (keep every entry >= the k-th largest).",
            )
        ]
        if k < x.shape[-1]
        else []
    )
    if x.dim() >= 2 and x.shape[0] > 1 and k < x.shape[0]:
        alts.append(
            (
                keep_top_k(x.movedim(0, -1), k).movedim(-1, 0),
                "it matches top-k along the first dim: filter along the last dim (the vocabulary).",
            )
        )
    check_filter(
        got,
        x,
        keep,
        what=what or f"top_k_filter(logits, k={k})",
        inputs=describe(logits=x, k=k),
        device=device,
        hint=hint,
        alternatives=alts + list(extra),
    )
    return got


def exactly_k(x, k):
    """Keep mask of torch.topk's exactly-k entries (the usual tie mistake)."""
    idx = torch.topk(x.double(), k, dim=-1).indices
    return torch.zeros(x.shape, dtype=torch.bool).scatter(-1, idx, True)


def drop_crossing(x, p):
    """Keep mask of the 'cumulative <= p' mistake (the crossing token dropped)."""
    probs = torch.softmax(x.double(), -1)
    s, order = torch.sort(probs, dim=-1, descending=True, stable=True)
    keep_s = torch.cumsum(s, -1) <= p
    return torch.zeros(x.shape, dtype=torch.bool).scatter(-1, order, keep_s)


def reversed_ties(x, p):
    """Keep mask when equal probabilities are taken in reverse index order."""
    flipped = x.flip(-1)
    return keep_top_p(flipped, p)[0].flip(-1)


def run_top_p(sub, x, p, device, *, what=None, hint="", min_margin=1e-4):
    keep, margin = keep_top_p(x, p)
    assert p >= 1.0 or margin > min_margin, f"spec fixture too close to the boundary ({margin})"
    got = sub.top_p_filter(x, p)
    alts = [
        (
            drop_crossing(x, p),
            f"it drops the token whose cumulative probability crosses p={p}; that token must "
            "be kept (keep a token when the probability mass before it is < p).",
        ),
        (
            reversed_ties(x, p),
            "equal probabilities must be taken in index order (a stable descending sort), "
            "but it takes them in reverse order.",
        ),
    ]
    if x.dim() >= 2 and x.shape[0] > 1:
        alts.append(
            (
                keep_top_p(x.movedim(0, -1), p)[0].movedim(-1, 0),
                "it matches top-p along the first dim: softmax and sort along the last dim.",
            )
        )
    check_filter(
        got,
        x,
        keep,
        what=what or f"top_p_filter(logits, p={p})",
        inputs=describe(logits=x, p=p),
        device=device,
        hint=hint,
        alternatives=alts,
    )
    return got


# ---------------------------------------------------------------- top-k


@public
def test_top_k_hand_case(sub, device):
    """[2, 1, 0.5, 1, -1] with k = 2: the 2nd largest is 1, tied twice, so three entries stay."""
    x = torch.tensor([2.0, 1.0, 0.5, 1.0, -1.0])
    got = sub.top_k_filter(x, 2)
    check_close(
        got,
        torch.tensor([2.0, 1.0, -INF, 1.0, -INF]),
        what="top_k_filter([2, 1, 0.5, 1, -1], k=2)",
        rtol=0,
        atol=0,
        device=device,
        hint="Keep every entry >= the 2nd largest value (1.0, tied at indices 1 and 3); the rest -inf.",
    )


@pytest.mark.parametrize("k", [1, 3, 5])
def test_top_k_ties_at_boundary(sub, device, k):
    """Rows with many ties: every entry equal to the k-th largest is kept."""
    x = torch.tensor(
        [[3.0, 1.0, 3.0, 2.0, 1.0, 2.0, 0.0], [0.5, 0.5, 0.5, 0.5, -1.0, 0.5, 2.0], [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]]
    )
    run_top_k(sub, x, k, device)


@pytest.mark.parametrize(
    "shape, k", [((9,), 4), ((3, 11), 5), ((2, 3, 8), 3), ((4, 2, 2, 6), 1)], ids=["9", "3x11", "2x3x8", "4x2x2x6"]
)
def test_top_k_random_batches(sub, device, shape, k):
    """Random logits with leading batch dims: each row along the last dim is filtered alone."""
    x = randn(*shape, seed=sum(shape) + k, scale=2.0)
    run_top_k(sub, x, k, device)


@pytest.mark.parametrize("k", [6, 7, 100])
def test_top_k_k_at_least_vocab_keeps_all(sub, device, k):
    x = randn(3, 6, seed=5, scale=2.0)
    run_top_k(sub, x, k, device, hint=f"k={k} >= V=6 keeps every entry (torch.topk needs k <= V: clamp k).")


def test_top_k_pre_masked_entries(sub, device):
    """-inf entries already in the input stay -inf and never count as kept tokens."""
    x = torch.tensor([[1.0, -INF, 0.5, 2.0, -INF, 0.0], [-INF, -INF, -INF, 3.0, 1.0, -INF]])
    for k in (2, 3, 5):
        run_top_k(sub, x, k, device)


def test_top_k_float16(sub, device):
    x = randn(4, 10, seed=7, scale=3.0).half()
    got = run_top_k(sub, x, 3, device, hint="Keep the input's dtype (float16).")
    check(got.dtype == torch.float16, "top_k_filter should keep the input's dtype")


@SETTINGS
@given(
    rows=st.integers(1, 4),
    vocab=st.integers(1, 12),
    k=st.integers(1, 14),
    seed=st.integers(0, 10_000),
    rounded=st.booleans(),
)
def test_top_k_property(sub, rows, vocab, k, seed, rounded):
    """Random rows (rounded to integers for frequent ties) against the per-row oracle, on CPU."""
    x = randn(rows, vocab, seed=seed, scale=2.0)
    if rounded:
        x = x.round()
    run_top_k(sub, x, k, None)


@public
@pytest.mark.parametrize("k", [0, -1])
def test_top_k_invalid_k_raises(sub, k):
    with pytest.raises(ValueError):
        sub.top_k_filter(torch.tensor([1.0, 2.0, 3.0]), k)


# ---------------------------------------------------------------- top-p


@public
def test_top_p_hand_case_keeps_crossing_token(sub, device):
    """probs of [2, 1, 0.5, 1, -1] are [.498, .183, .111, .183, .025]; p = 0.5: .498 < .5, so the
    next token (index 1, the first of the tied .183s) crosses p and is kept."""
    x = torch.tensor([2.0, 1.0, 0.5, 1.0, -1.0])
    got = sub.top_p_filter(x, 0.5)
    check_close(
        got,
        torch.tensor([2.0, 1.0, -INF, -INF, -INF]),
        what="top_p_filter([2, 1, 0.5, 1, -1], p=0.5)",
        rtol=0,
        atol=0,
        device=device,
        hint="The top token alone has probability 0.498 < 0.5, so the next one (index 1: equal "
        "probabilities go in index order) is needed to reach p and is kept.",
    )


@pytest.mark.parametrize("p", [0.3, 0.5, 0.65, 0.85])
def test_top_p_crossing_token_kept(sub, device, p):
    """probs [0.4, 0.3, 0.2, 0.1] (as logits log p): the token that crosses p is kept."""
    x = torch.tensor([0.1, 0.4, 0.2, 0.3]).log()
    run_top_p(sub, x, p, device)


def test_top_p_exact_boundary(sub, device):
    """probs [0.5, 0.25, 0.25] are exact in binary; p = 0.75 is reached exactly after two tokens, so the
    shortest prefix that reaches p is those two: the third is removed."""
    x = torch.tensor([[2.0, 1.0, 1.0]]).log().double()
    run_top_p(
        sub,
        x,
        0.75,
        device,
        min_margin=-1.0,
        hint="A prefix whose cumulative probability equals p exactly already reaches p.",
    )


@pytest.mark.parametrize("p", [0.4, 0.6])
def test_top_p_ties_in_index_order(sub, device, p):
    """Equal probabilities are taken in index order (stable descending sort)."""
    x = torch.tensor([[0.0, 1.0, 0.0, 1.0, 1.0, -2.0], [0.5, 0.5, 0.5, 0.5, 0.5, 0.5]])
    run_top_p(sub, x, p, device)


@pytest.mark.parametrize(
    "shape, p",
    [((10,), 0.6), ((3, 12), 0.8), ((2, 3, 7), 0.5), ((2, 2, 2, 9), 0.95)],
    ids=["10", "3x12", "2x3x7", "2x2x2x9"],
)
def test_top_p_random_batches(sub, device, shape, p):
    x = randn(*shape, seed=sum(shape) + int(100 * p), scale=2.0)
    run_top_p(sub, x, p, device)


def test_top_p_tiny_p_keeps_top_token(sub, device):
    """p = 1e-9 keeps exactly the most likely token of each row (at least one is always kept)."""
    x = randn(4, 9, seed=13, scale=2.0)
    run_top_p(
        sub,
        x,
        1e-9,
        device,
        min_margin=0.0,
        hint="At least one token must always stay: the top token's cumulative probability crosses p.",
    )


@pytest.mark.parametrize("shape", [(9,), (3, 8)])
def test_top_p_one_keeps_all(sub, device, shape):
    x = randn(*shape, seed=17, scale=2.0)
    run_top_p(sub, x, 1.0, device, hint="p = 1 keeps every token.")


def test_top_p_one_keeps_all_even_zero_probability(sub, device):
    """p = 1 keeps every finite entry, including tokens whose probability underflows to 0."""
    x = torch.tensor([[0.0, -800.0, -50.0, 3.0], [10.0, -1000.0, 9.0, -120.0]])
    run_top_p(
        sub,
        x,
        1.0,
        device,
        hint="p = 1 keeps every token, even one whose probability rounds to 0 (the mass before it is "
        "already 1.0): return a copy of the logits for p = 1.",
    )


def test_top_p_probabilities_not_logits(sub, device):
    """The cumulative sum is over softmax probabilities, not over the raw logits."""
    x = torch.tensor([[5.0, 4.0, 3.5, 0.0, -1.0], [-1.0, -1.5, -3.0, -2.0, -0.5]])
    run_top_p(sub, x, 0.9, device, hint="Sum softmax(logits) probabilities, not logits.")


def test_top_p_pre_masked_entries(sub, device):
    """-inf entries have probability 0: they stay -inf and do not change the others' probabilities."""
    x = torch.tensor([[1.0, -INF, 0.5, 2.0, -INF, 0.0], [-INF, 0.0, -INF, 0.3, -1.0, -INF]])
    for p in (0.5, 0.85, 1.0):
        run_top_p(sub, x, p, device)


def test_top_p_float16(sub, device):
    """float16 input: the dtype is kept; the fixture is far (> 0.01) from the boundary."""
    x = torch.tensor([[2.0, 1.0, 0.0, -1.0, 0.5, -3.0], [0.0, 0.2, -0.4, 1.5, 1.0, -2.0]]).half()
    keep, margin = keep_top_p(x, 0.74)
    assert margin > 0.01
    got = run_top_p(sub, x, 0.74, device)
    check(got.dtype == torch.float16, "top_p_filter should keep the input's dtype")


@SETTINGS
@given(
    rows=st.integers(1, 4),
    vocab=st.integers(1, 12),
    p=st.sampled_from([0.05, 0.3, 0.5, 0.77, 0.9, 0.99]),
    seed=st.integers(0, 10_000),
    scale=st.sampled_from([0.5, 2.0, 5.0]),
)
def test_top_p_property(sub, rows, vocab, p, seed, scale):
    """Random rows against the per-row oracle (fixtures within 1e-4 of p are skipped), on CPU."""
    x = randn(rows, vocab, seed=seed, scale=scale)
    assume(keep_top_p(x, p)[1] > 1e-4)
    run_top_p(sub, x, p, None)


@public
@pytest.mark.parametrize("p", [0.0, -0.1, 1.5, float("nan")], ids=["0", "-0.1", "1.5", "nan"])
def test_top_p_invalid_p_raises(sub, p):
    with pytest.raises(ValueError):
        sub.top_p_filter(torch.tensor([1.0, 2.0, 3.0]), p)


# ---------------------------------------------------------------- hygiene


@pytest.mark.parametrize("which", ["top_k", "top_p"])
def test_input_not_modified(sub, device, which):
    x = randn(3, 7, seed=23, scale=2.0)
    if which == "top_k":
        sub.top_k_filter(x, 2)
        check_unchanged_inputs(sub, ["logits", "k"])
    else:
        sub.top_p_filter(x, 0.6)
        check_unchanged_inputs(sub, ["logits", "p"])
