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

from grader.spec import (
    Mistake,
    RemoteException,
    check,
    check_close,
    describe,
    describe_value,
    expect_raises,
    fail,
    lazy,
    public,
    randn,
)

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


def exactly_k(x, k):
    """Keep mask of torch.topk's exactly-k entries (the usual tie mistake)."""
    idx = torch.topk(x.double(), k, dim=-1).indices
    return torch.zeros(x.shape, dtype=torch.bool).scatter(-1, idx, True)


def _keep_sorted(scores, p, rule):
    """Keep mask from sorting ``scores`` (descending, stable) and applying ``rule(before, cum)``."""
    s, order = torch.sort(scores, dim=-1, descending=True, stable=True)
    cum = torch.cumsum(s, -1)
    return torch.zeros(scores.shape, dtype=torch.bool).scatter(-1, order, rule(cum - s, cum))


def drop_crossing(x, p, *, keep_first=False):
    """Keep mask of the 'cumulative <= p' mistake (the crossing token dropped; the top one forced in if asked)."""
    keep = _keep_sorted(torch.softmax(x.double(), -1), p, lambda before, cum: cum <= p)
    if keep_first:
        keep |= _keep_sorted(torch.softmax(x.double(), -1), p, lambda before, cum: before == 0)
    return keep


def reversed_ties(x, p):
    """Keep mask when equal probabilities are taken in reverse index order."""
    flipped = x.flip(-1)
    return keep_top_p(flipped, p)[0].flip(-1)


TOP_K_MISTAKES = {
    "exactly_k": "entries tied with the k-th largest value are dropped (exactly k are kept): keep every entry "
    ">= the k-th largest, so a row may keep more than k.",
    "first_dim": "top-k is taken along the first dim: filter each row along the last dim (the vocabulary).",
}
TOP_P_MISTAKES = {
    "crossing": "the token whose cumulative probability crosses p is dropped: keep a token while the probability "
    "mass before it is < p, so the crossing token stays.",
    "logits": "the cumulative sum is taken over the raw logits: sort and sum softmax probabilities, not logits.",
    "ties": "equal probabilities are not taken in index order: sort with torch.sort(..., descending=True, "
    "stable=True) so that the lower index comes first.",
    "at_p": "a token is kept when the mass before it is <= p: a prefix that reaches p exactly is already enough, "
    "so keep a token only while the mass before it is < p.",
    "first_dim": "top-p is taken along the first dim: softmax and sort each row along the last dim.",
    "none_kept": "a row keeps no token: the most likely token is always kept (its cumulative probability "
    "crosses p even for a tiny p).",
    "p_one": "p = 1 drops tokens whose probability rounds to 0 (the mass before them already sums to 1.0): "
    "p = 1 keeps every token, so return a copy of the logits.",
}


def _kept(got, x):
    """The finite entries of x that ``got`` keeps (bool, x's shape), or None if got is not comparable."""
    if not hasattr(got, "shape") or tuple(got.shape) != tuple(x.shape):
        return None
    return (x.double() != -INF) & (got.double() != -INF)


def _mask_matches(got_keep, x, keep, wrong):
    """got keeps what the mistake keeps, and the mistake keeps something else than the right answer."""
    finite = x.double() != -INF
    return not torch.equal(finite & wrong, finite & keep) and torch.equal(got_keep, finite & wrong)


def top_k_mistakes(got, x, k):
    """The keys of TOP_K_MISTAKES whose result ``got`` matches."""
    got_keep, keep = _kept(got, x), keep_top_k(x, k)
    if got_keep is None:
        return []
    found = []
    finite = x.double() != -INF
    rows_k = torch.clamp(finite.sum(-1), max=k)
    if (
        not torch.equal(got_keep, finite & keep)
        and not (got_keep & ~keep).any()
        and torch.equal(got_keep.sum(-1), rows_k)
    ):
        found.append("exactly_k")
    if x.dim() >= 2 and 1 < x.shape[0] and k < x.shape[0]:
        if _mask_matches(got_keep, x, keep, keep_top_k(x.movedim(0, -1), k).movedim(-1, 0)):
            found.append("first_dim")
    return found


def _same_probabilities(got_keep, x, keep):
    """got keeps other tokens than ``keep`` but with exactly the same probabilities in every row (a tie order)."""
    finite = x.double() != -INF
    want = finite & keep
    if torch.equal(got_keep, want):
        return False
    probs = torch.softmax(x.double(), -1).reshape(-1, x.shape[-1])
    for prob, g, w in zip(probs, got_keep.reshape(-1, x.shape[-1]), want.reshape(-1, x.shape[-1])):
        if not torch.equal(torch.sort(prob[g]).values, torch.sort(prob[w]).values):
            return False
    return True


def top_p_mistakes(got, x, p):
    """The keys of TOP_P_MISTAKES whose result ``got`` matches."""
    got_keep = _kept(got, x)
    if got_keep is None:
        return []
    keep = keep_top_p(x, p)[0]
    finite = x.double() != -INF
    found = []
    if (finite.any(-1) & ~got_keep.any(-1)).any():
        found.append("none_kept")
    if p >= 1.0 and not (got_keep & ~keep).any() and not torch.equal(got_keep, finite & keep):
        dropped = finite & keep & ~got_keep
        if (torch.softmax(x.double(), -1)[dropped] < 1e-6).all():
            found.append("p_one")
    probs = torch.softmax(x.double(), -1)
    variants = {
        "crossing": [drop_crossing(x, p), drop_crossing(x, p, keep_first=True)],
        "logits": [_keep_sorted(x.double().masked_fill(~finite, -INF), p, lambda before, cum: before < p)],
        "at_p": [_keep_sorted(probs, p, lambda before, cum: before <= p)],
    }
    if x.dim() >= 2 and x.shape[0] > 1:
        variants["first_dim"] = [keep_top_p(x.movedim(0, -1), p)[0].movedim(-1, 0)]
    for key, masks in variants.items():
        if any(_mask_matches(got_keep, x, keep, m) for m in masks):
            found.append(key)
    if _same_probabilities(got_keep, x, keep):
        found.append("ties")
    return found


# Fixtures that tell the top-p mistakes apart when one case matches several of them.
TOP_P_PROBES = (
    (torch.tensor([0.1, 0.4, 0.2, 0.3]).log(), 0.5),
    (torch.tensor([[0.0, 1.0, 0.0, 1.0, 1.0, -2.0]]), 0.4),
    (torch.tensor([[2.0, 1.0, 1.0]]).log().double(), 0.75),
)


def diagnose_top_p(sub, got, x, p):
    """The top-p mistake ``got`` shows; when the case fits several, the probes decide."""
    found = top_p_mistakes(got, x, p)
    for probe, probe_p in TOP_P_PROBES if len(found) > 1 else ():
        try:
            shown = top_p_mistakes(sub.top_p_filter(probe, probe_p), probe, probe_p)
        except Exception:  # noqa: BLE001 - a probe that fails decides nothing
            continue
        if shown:  # a probe the submission gets right (or cannot be read) says nothing
            found = [key for key in found if key in shown]
    return TOP_P_MISTAKES[found[0]] if len(found) == 1 else ""


def diagnose_top_k(got, x, k):
    found = top_k_mistakes(got, x, k)
    return TOP_K_MISTAKES[found[0]] if len(found) == 1 else ""


def diagnose_output(got, x, keep, diagnose):
    """The mistake in ``got``: the wrong dtype, removed entries set to 0, or what ``diagnose()`` recognises."""
    if hasattr(got, "dtype") and got.dtype != x.dtype:
        return (
            f"the result has dtype {str(got.dtype)[6:]}, not the input's {str(x.dtype)[6:]}: compute "
            "probabilities in a higher precision if you like, but mask the original logits."
        )
    if hasattr(got, "shape") and tuple(got.shape) == tuple(x.shape):
        g, xd = got.double(), x.double()
        if ((xd != -INF) & ~keep & (g == 0) & (xd != 0)).any():
            return "removed entries are set to 0 instead of -inf (a logit of 0 is still a likely token)."
    return diagnose()


def _row_text(mask_row):
    return str([i for i, v in enumerate(mask_row.tolist()) if v])


def check_filter(got, x, keep, *, what, inputs, device, hint="", diagnose=lambda: ""):
    """The result must be ``x`` with exactly the entries outside ``keep`` set to -inf."""
    __tracebackhide__ = True
    diagnosis = lazy(diagnose_output, got, x, keep, diagnose)
    check(
        hasattr(got, "detach"),
        f"{what} should be a torch tensor, but it returned {describe_value(got)}. Inputs: {inputs}.",
    )
    if tuple(got.shape) == tuple(x.shape):
        g, xd = got.double(), x.double()
        finite = xd != -INF  # entries that were -inf already stay -inf whatever the filter does
        zeroed = finite & ~keep & (g == 0) & (xd != 0)
        if zeroed.any():
            fail(
                f"{what}: removed entries should be set to -inf, not 0 (a logit of 0 is still a likely token). "
                f"Inputs: {inputs}.",
                diagnosis=diagnosis,
            )
        got_keep = finite & (g != -INF)
        if not torch.equal(got_keep, finite & keep):
            rows_got = got_keep.reshape(-1, x.shape[-1])
            rows_want = (finite & keep).reshape(-1, x.shape[-1])
            r = next(i for i in range(rows_got.shape[0]) if not torch.equal(rows_got[i], rows_want[i]))
            where = f"row {r}" if x.dim() > 1 else "the row"
            fail(
                f"{what} keeps the wrong entries: in {where} it keeps indices {_row_text(rows_got[r])}, "
                f"expected {_row_text(rows_want[r])}. Inputs: {inputs}.{' ' + hint if hint else ''}",
                diagnosis=diagnosis,
            )
    check_close(
        got, apply(x, keep), what=what, inputs=inputs, hint=hint, rtol=0, atol=0, device=device, diagnosis=diagnosis
    )


def run_top_k(sub, x, k, device, *, what=None, hint="", shown=None):
    what = what or f"top_k_filter(logits, k={k})"
    inputs = shown or describe(logits=x, k=k)
    try:
        got = sub.top_k_filter(x, k)
    except RemoteException as exc:
        if k > x.shape[-1]:
            fail(
                f"{what} raised {exc.type_name}: {exc.remote_message[:200]}. Inputs: {inputs}.",
                diagnosis="k >= V is not handled: torch.topk needs k <= V, so clamp k (k >= V keeps every entry).",
            )
        raise
    keep = keep_top_k(x, k)
    check_filter(
        got, x, keep, what=what, inputs=inputs, device=device, hint=hint, diagnose=lazy(diagnose_top_k, got, x, k)
    )
    return got


def run_top_p(sub, x, p, device, *, what=None, hint="", min_margin=1e-4, shown=None):
    keep, margin = keep_top_p(x, p)
    assert p >= 1.0 or margin > min_margin, f"spec fixture too close to the boundary ({margin})"
    got = sub.top_p_filter(x, p)
    check_filter(
        got,
        x,
        keep,
        what=what or f"top_p_filter(logits, p={p})",
        inputs=shown or describe(logits=x, p=p),
        device=device,
        hint=hint,
        diagnose=lazy(diagnose_top_p, sub, got, x, p),
    )
    return got


# ---------------------------------------------------------------- top-k


@public
def test_top_k_hand_case(sub, device):
    """[2, 1, 0.5, 1, -1] with k = 2: the 2nd largest is 1, tied twice, so three entries stay."""
    x = torch.tensor([2.0, 1.0, 0.5, 1.0, -1.0])
    run_top_k(
        sub,
        x,
        2,
        device,
        what="top_k_filter([2, 1, 0.5, 1, -1], k=2)",
        shown="logits [2, 1, 0.5, 1, -1], k=2",
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
    run_top_k(sub, x, k, device, hint=f"k={k} >= V=6 keeps every entry.")


def test_top_k_pre_masked_entries(sub, device):
    """-inf entries already in the input stay -inf and never count as kept tokens."""
    x = torch.tensor([[1.0, -INF, 0.5, 2.0, -INF, 0.0], [-INF, -INF, -INF, 3.0, 1.0, -INF]])
    for k in (2, 3, 5):
        run_top_k(sub, x, k, device)


def test_top_k_float16(sub, device):
    x = randn(4, 10, seed=7, scale=3.0).half()
    run_top_k(sub, x, 3, device)


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
    """k < 1 raises ValueError"""
    try:
        expect_raises(
            ValueError, sub.top_k_filter, torch.tensor([1.0, 2.0, 3.0]), k, call=f"top_k_filter([1, 2, 3], k={k})"
        )
    except Mistake as exc:
        fail(str(exc), diagnosis=f"k < 1 is not rejected: raise ValueError for k={k} before filtering.")


# ---------------------------------------------------------------- top-p


@public
def test_top_p_hand_case_keeps_crossing_token(sub, device):
    """probs of [2, 1, 0.5, 1, -1] are [.498, .183, .111, .183, .025]; p = 0.5: .498 < .5, so the
    next token (index 1, the first of the tied .183s) crosses p and is kept."""
    x = torch.tensor([2.0, 1.0, 0.5, 1.0, -1.0])
    run_top_p(
        sub,
        x,
        0.5,
        device,
        what="top_p_filter([2, 1, 0.5, 1, -1], p=0.5)",
        shown="logits [2, 1, 0.5, 1, -1], p=0.5",
        hint="The expected nucleus: the top token alone has probability 0.498 < 0.5, so the next one (index 1: "
        "equal probabilities go in index order) is needed to reach p.",
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
    run_top_p(sub, x, 0.74, device)


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
    """p outside (0, 1], or nan, raises ValueError"""
    try:
        expect_raises(
            ValueError, sub.top_p_filter, torch.tensor([1.0, 2.0, 3.0]), p, call=f"top_p_filter([1, 2, 3], p={p})"
        )
    except Mistake as exc:
        fail(
            str(exc), diagnosis=f"p = {p} is not rejected: p must be in (0, 1] (check not 0 < p <= 1, which nan fails)."
        )


# ---------------------------------------------------------------- hygiene


@pytest.mark.parametrize("which", ["top_k", "top_p"])
def test_input_not_modified(sub, device, which):
    """the logits are left unchanged"""
    x = randn(3, 7, seed=23, scale=2.0)
    call = "top_k_filter(logits, 2)" if which == "top_k" else "top_p_filter(logits, 0.6)"
    if which == "top_k":
        sub.top_k_filter(x, 2)
    else:
        sub.top_p_filter(x, 0.6)
    check(
        not sub.last_call.mutated,
        f"{call} changed logits in place. Inputs: {describe(logits=x)}.",
        diagnosis="the logits are modified in place (masked_fill_ or an index assignment): work on a copy "
        "(masked_fill or clone first).",
    )
