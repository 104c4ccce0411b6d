"""Specs for scaled_dot_product_attention: values against torch's own attention in float64,
masks, fully masked rows, large logits, low precision, gradients, hygiene and errors."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.spec import (
    RemoteException,
    check,
    check_close,
    check_unchanged_inputs,
    describe,
    diagnosing,
    fail,
    lazy,
    public,
    randn,
)

# ---------------------------------------------------------------- oracle and diagnosis


def bool_mask(shape, seed, p=0.7):
    """A seeded bool mask, True with probability ``p``."""
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=gen) < p


def oracle(Q, K, V, mask=None):
    """(output, weights) in float64 from torch's F.scaled_dot_product_attention.

    The weights are attention applied to the identity matrix as values. A query whose
    keys are all masked is computed unmasked and then zeroed, so neither torch's nan
    nor its gradient leaks into the result.
    """
    q, k, v = Q.double(), K.double(), V.double()
    eye = torch.eye(k.shape[-2], dtype=torch.float64)  # (Lk, Lk)
    if mask is None:
        return F.scaled_dot_product_attention(q, k, v), F.scaled_dot_product_attention(q, k, eye)
    scores_shape = (*q.shape[:-1], k.shape[-2])  # (..., Lq, Lk)
    allowed = (mask != 0).expand(torch.broadcast_shapes(mask.shape, scores_shape))  # torch needs >= 2 dims
    has_key = allowed.any(dim=-1, keepdim=True)  # (..., Lq, 1)
    safe = allowed | ~has_key
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=safe) * has_key
    weights = F.scaled_dot_product_attention(q, k, eye, attn_mask=safe) * has_key
    return out, weights


def _attend(Q, K, V, mask, scale, dim=-1, after=False, dtype=torch.float64):
    """An attention with a chosen scale, softmax axis, masking step and compute dtype (diagnosis)."""
    q, k, v = Q.to(dtype), K.to(dtype), V.to(dtype)
    scores = q @ k.transpose(-2, -1) * scale
    allowed = torch.ones_like(scores, dtype=torch.bool) if mask is None else (mask != 0).expand_as(scores)
    if after:
        weights = torch.softmax(scores, dim=dim) * allowed
    else:
        scores = scores.masked_fill(~allowed, float("-inf"))
        weights = torch.nan_to_num(torch.softmax(scores, dim=dim), nan=0.0)
    return (weights @ v).double(), weights.double()


MISTAKES = [
    ("no_scale", "The weights match softmax(QKᵀ) without scaling: is the 1/√d factor missing?"),
    ("scale_d", "The weights match scores divided by d: scale by 1/√d, not 1/d."),
    ("scale_dv", "The weights match scaling by 1/√dv: d is the query/key feature size Q.shape[-1], not V's."),
    ("scale_lk", "The weights match scaling by 1/√Lk, the number of keys: d is the feature size Q.shape[-1]."),
    ("query_axis", "The weights match a softmax over the queries: normalise over the keys (the last dim)."),
    ("flipped", "The weights match the flipped mask: True/1 means the query MAY attend that key."),
    ("after", "The weights match masking after the softmax: mask the scores with -inf before it, so rows renormalise."),
    ("fill", "Masked keys seem to get a finite score (like -1e9): a fully masked query must get all-zero weights."),
]


def variant(name, Q, K, V, mask):
    d, dv = Q.shape[-1], V.shape[-1]
    if name == "no_scale":
        return _attend(Q, K, V, mask, 1.0)
    if name == "scale_d":
        return _attend(Q, K, V, mask, 1.0 / d)
    if name == "scale_dv":
        return _attend(Q, K, V, mask, 1.0 / math.sqrt(dv)) if dv != d else None
    if name == "scale_lk":
        return _attend(Q, K, V, mask, 1.0 / math.sqrt(K.shape[-2])) if K.shape[-2] != d else None
    if name == "query_axis":
        return _attend(Q, K, V, mask, 1.0 / math.sqrt(d), dim=-2)
    if mask is None:
        return None
    if name == "flipped":
        return oracle(Q, K, V, ~(mask != 0))
    if name == "after":
        return _attend(Q, K, V, mask, 1.0 / math.sqrt(d), after=True)
    if name == "fill":
        q, k, v = Q.double(), K.double(), V.double()
        scores = (q @ k.transpose(-2, -1) / math.sqrt(d)).masked_fill(mask == 0, -1e9)
        weights = torch.softmax(scores, dim=-1)
        return weights @ v, weights
    return None


NAN_ROWS = (
    "Fully masked queries come out nan (a softmax over a row of -inf is nan): give them all-zero weights "
    "and a zero output."
)
FLOAT32_SIZED = (
    "The errors are the size of float32 rounding: a float64 input is computed in float32 somewhere (.float()); "
    "compute float64 inputs in float64."
)
IN_PLACE = "The call changes its input(s) in place (Q /= √d, masked_fill_, ...): compute new tensors instead."


def dtype_mistake(got, want):
    """Why a result has the wrong dtype, where the pattern is a known one, or ''."""
    if not hasattr(got, "dtype") or got.dtype == want:
        return ""
    if want in (torch.float16, torch.bfloat16) and got.dtype == torch.float32:
        return "The results are computed in float32 but not cast back: return them in the input dtype (.to(Q.dtype))."
    if want == torch.float64 and got.dtype == torch.float32:
        return "A float64 input is computed and returned in float32 (.float()): compute float64 inputs in float64."
    return ""


def diagnose(got_weights, Q, K, V, mask=None):
    """The typical mistake whose weights the submission's match, in the learner's words, or ''."""
    if not hasattr(got_weights, "shape"):
        return ""
    if dtype_mistake(got_weights, Q.dtype):
        return dtype_mistake(got_weights, Q.dtype)
    got = got_weights.double()
    expected = oracle(Q, K, V, mask)[1]
    if got.shape != expected.shape:
        return ""
    if mask is not None and torch.isnan(got).any():
        empty = ~(mask != 0).expand(expected.shape).any(dim=-1)  # (..., Lq): fully masked queries
        if torch.isnan(got).any(dim=-1).equal(empty):
            return NAN_ROWS
    if Q.dtype == torch.float64 and not torch.isnan(got).any():
        error = (got - expected).abs().max().item()
        if 1e-7 < error < 1e-4:
            return FLOAT32_SIZED
    matches = []
    for name, hint in MISTAKES:
        wrong = variant(name, Q, K, V, mask)
        if wrong is None or wrong[1].shape != got.shape or torch.allclose(wrong[1], expected, atol=1e-3):
            continue
        if torch.allclose(got, wrong[1], rtol=1e-2, atol=1e-3, equal_nan=True):
            matches.append(hint)
    return matches[0] if len(matches) == 1 else ""  # a case two mistakes explain names neither


def why_it_raised(sub, Q, K, V, mask=None):
    """Why the submission raised on these inputs, found by calling it again on the same
    case written another way (an integer mask as bool, a 1-D mask as a row, one batch
    element as 2-D tensors) and seeing that one work; '' if none does."""

    def works(q, k, v, m):
        try:
            got = sub.scaled_dot_product_attention(q, k, v, m)
            return torch.allclose(got[1].double(), oracle(q, k, v, m)[1], rtol=1e-3, atol=1e-3)
        except Exception:  # noqa: BLE001 - it raises this way too
            return False

    if mask is not None and mask.dtype != torch.bool and works(Q, K, V, mask != 0):
        return (
            "An integer 0/1 mask fails where the same mask as bool works: make it bool (mask != 0) before "
            "using ~ or masked_fill."
        )
    if mask is not None and mask.dim() == 1 and works(Q, K, V, mask[None, :]):
        return (
            "A mask of shape [Lk] fails where the same mask as [1, Lk] works: a 1-D mask holds one entry per key, "
            "and broadcasting applies it to every query as a row."
        )
    if Q.dim() > 2:
        first = [t.reshape(-1, *t.shape[-2:])[0] for t in (Q, K, V)]  # one batch element, 2-D
        m = None
        if mask is not None:
            m = (mask != 0).expand(*Q.shape[:-1], K.shape[-2]).reshape(-1, Q.shape[-2], K.shape[-2])[0]
        if works(*first, m):
            return (
                "Batched inputs fail where the same 2-D inputs work: transpose only the last two dimensions, "
                "K.transpose(-2, -1) (K.T reverses them all)."
            )
    return ""


def attend(sub, *args):
    """Call the submission and check it returned a pair (output, weights)."""
    __tracebackhide__ = True
    with diagnosing(lazy(why_it_raised, sub, *args)):
        got = sub.scaled_dot_product_attention(*args)
    check(
        isinstance(got, (tuple, list)) and len(got) == 2,
        f"scaled_dot_product_attention should return a tuple (output, weights), got {type(got).__name__}.",
    )
    return tuple(got)


def check_attention(got, Q, K, V, mask=None, *, device, seed=None, kind="reduction", what="", hint=""):
    """Check a (output, weights) pair against the oracle, cast to the input dtype."""
    __tracebackhide__ = True
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        fail(f"scaled_dot_product_attention should return a tuple (output, weights), got {type(got).__name__}.")
    out, weights = got
    want_out, want_weights = oracle(Q, K, V, mask)
    inputs = describe(Q=Q, K=K, V=V, **({"mask": mask} if mask is not None else {}))
    diagnosis = lazy(diagnose, weights, Q, K, V, mask)
    out_diagnosis = lazy(lambda: dtype_mistake(out, V.dtype) or diagnose(weights, Q, K, V, mask))
    prefix = f"{what}: " if what else ""
    check_close(
        weights,
        want_weights.to(Q.dtype),
        what=f"{prefix}the weights",
        kind=kind,
        inputs=inputs,
        seed=seed,
        hint=hint,
        diagnosis=diagnosis,
        device=device,
    )
    check_close(
        out,
        want_out.to(V.dtype),
        what=f"{prefix}the output",
        kind=kind,
        inputs=inputs,
        seed=seed,
        hint=hint,
        diagnosis=out_diagnosis,
        device=device,
    )


# ---------------------------------------------------------------- values


@public
def test_hand_computed_example(sub, device):
    """One query, two keys: scores [0, √2], so weights [1, e^√2] / (1 + e^√2)"""
    Q = torch.tensor([[0.0, 2.0]])
    K = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    V = torch.tensor([[10.0], [20.0]])
    got = attend(sub, Q, K, V)
    w1 = math.exp(math.sqrt(2)) / (1 + math.exp(math.sqrt(2)))
    weights = torch.tensor([[1 - w1, w1]])
    output = torch.tensor([[10 * (1 - w1) + 20 * w1]])
    inputs = describe(Q=Q, K=K, V=V)
    why = lazy(diagnose, got[1], Q, K, V)
    check_close(got[1], weights, what="the weights", kind="reduction", inputs=inputs, diagnosis=why, device=device)
    check_close(got[0], output, what="the output", kind="reduction", inputs=inputs, diagnosis=why, device=device)


@public
def test_hand_computed_causal_example(sub, device):
    """Two queries at positions 1 and 2 over three keys, the first query masked from key 2"""
    Q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    K = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    V = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    mask = torch.tensor([[True, True, False], [True, True, True]])
    out, weights = attend(sub, Q, K, V, mask)
    a = math.exp(1 / math.sqrt(2))  # e^(1/√2): a key that matches the query
    expected_w = torch.tensor(
        [[a / (a + 1), 1 / (a + 1), 0.0], [1 / (2 * a + 1), a / (2 * a + 1), a / (2 * a + 1)]], dtype=torch.float64
    )
    expected_out = expected_w @ V.double()
    inputs = describe(Q=Q, K=K, V=V, mask=mask)
    why = lazy(diagnose, weights, Q, K, V, mask)
    check_close(
        weights, expected_w.float(), what="the weights", kind="reduction", inputs=inputs, diagnosis=why, device=device
    )
    check_close(
        out, expected_out.float(), what="the output", kind="reduction", inputs=inputs, diagnosis=why, device=device
    )


SHAPES = {
    "no_batch": ((5, 8), (7, 8), (7, 6)),
    "batch_2x3": ((2, 3, 5, 8), (2, 3, 5, 8), (2, 3, 5, 8)),
    "lq_lt_lk": ((4, 3, 8), (4, 9, 8), (4, 9, 5)),
    "lq_gt_lk": ((2, 7, 4), (2, 3, 4), (2, 3, 6)),
    "one_key": ((3, 2), (1, 2), (1, 3)),
}


@pytest.mark.parametrize("case", list(SHAPES))
def test_matches_torch_without_mask(sub, device, case):
    """Unmasked attention matches torch's, with and without batch dimensions"""
    q_shape, k_shape, v_shape = SHAPES[case]
    Q, K, V = randn(*q_shape, seed=1), randn(*k_shape, seed=2), randn(*v_shape, seed=3)
    check_attention(attend(sub, Q, K, V), Q, K, V, device=device, seed=1)


def test_float64_stays_float64(sub, device):
    """float64 inputs are computed in float64 (tolerance 1e-7, large scores)"""
    f64 = torch.float64  # scores of magnitude ~50 and values ~10: float32 errors are ~40x the tolerance
    Q, K, V = (
        randn(4, 8, 8, seed=4, dtype=f64, scale=5.0),
        randn(4, 10, 8, seed=5, dtype=f64, scale=5.0),
        randn(4, 10, 6, seed=6, dtype=f64, scale=10.0),
    )
    mask = bool_mask((8, 10), seed=7)
    mask[:, 0] = True
    got = attend(sub, Q, K, V, mask)
    check_attention(got, Q, K, V, mask, device=device, seed=4)


MASKS = {
    "bool_Lq_Lk": (torch.bool, (5, 7)),
    "int_Lq_Lk": (torch.int64, (5, 7)),
    "bool_B_1_1_Lk": (torch.bool, (2, 1, 1, 7)),
    "int_B_1_1_Lk": (torch.int64, (2, 1, 1, 7)),
    "uint8_full": (torch.uint8, (2, 3, 5, 7)),
    "bool_Lk": (torch.bool, (7,)),
}


@pytest.mark.parametrize("case", list(MASKS))
def test_masks_broadcast_bool_and_int(sub, device, case):
    """A mask of another shape broadcasts to [..., Lq, Lk]; bool and 0/1 integers mean the same"""
    dtype, shape = MASKS[case]
    Q, K, V = randn(2, 3, 5, 4, seed=10), randn(2, 3, 7, 4, seed=11), randn(2, 3, 7, 6, seed=12)
    allowed = bool_mask(shape, seed=13)
    allowed[..., 0] = True  # every query keeps a key; fully masked rows are tested on their own
    mask = allowed.to(dtype)
    check_attention(attend(sub, Q, K, V, mask), Q, K, V, mask, device=device, seed=10)


def test_weights_rows_sum_to_one_or_zero(sub, device):
    """Each query's weights sum to 1, or to 0 when all its keys are masked"""
    Q, K, V = randn(2, 6, 4, seed=20), randn(2, 5, 4, seed=21), randn(2, 5, 3, seed=22)
    mask = bool_mask((2, 6, 5), seed=23, p=0.5)
    mask[0, 2] = False
    mask[1, 4] = False
    mask[:, 0] = True
    _, weights = attend(sub, Q, K, V, mask)
    expected = mask.any(dim=-1).double()  # (2, 6)
    check_close(
        weights.double().sum(dim=-1) if hasattr(weights, "sum") else weights,
        expected,
        what="the row sums of the weights",
        kind="reduction",
        rtol=1e-5,
        atol=1e-5,
        inputs=describe(Q=Q, K=K, V=V, mask=mask),
        hint="Each query's weights sum to 1 over its keys, or to 0 when all its keys are masked.",
        diagnosis=lazy(diagnose, weights, Q, K, V, mask),
    )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_fully_masked_rows_give_zeros(sub, device, dtype):
    """A query with no allowed key gets all-zero weights and a zero output, never nan"""
    Q, K, V = (
        randn(2, 4, 8, seed=30, dtype=dtype),
        randn(2, 6, 8, seed=31, dtype=dtype),
        randn(2, 6, 5, seed=32, dtype=dtype),
    )
    mask = bool_mask((2, 4, 6), seed=33)
    mask[..., 0] = True
    mask[0, 1] = False
    mask[1, 3] = False
    mask[1, 0] = False
    out, weights = attend(sub, Q, K, V, mask)
    inputs = describe(Q=Q, K=K, V=V, mask=mask)
    rows = ~mask.any(dim=-1)  # (2, 4)
    for name, got, shape in (("weights", weights, [2, 4, 6]), ("output", out, [2, 4, 5])):
        check(hasattr(got, "shape") and list(got.shape) == shape, f"the {name} should be a tensor of shape {shape}")
    why = lazy(diagnose, weights, Q, K, V, mask)
    for name, got in (("weights", weights), ("output", out)):
        check(
            not torch.isnan(got).any(),
            f"the {name} contain nan for the fully masked queries (rows {rows.nonzero().tolist()}); "
            f"they must be all zeros. Inputs: {inputs}.",
            diagnosis=why,
        )
        check(
            (got[rows] == 0).all(),
            f"the {name} of the fully masked queries (rows {rows.nonzero().tolist()}) should be exactly zero. "
            f"Inputs: {inputs}.",
            diagnosis=why,
        )
    check_attention((out, weights), Q, K, V, mask, device=device, seed=30)


def test_large_logits_do_not_overflow(sub, device):
    """Scores near ±1e4 (exact in float32): a softmax without the max subtraction overflows"""
    Q = torch.tensor([[200.0, 1.0, 1.0, 0.0], [-200.0, 0.0, 1.0, 1.0], [-200.0, 1.0, 0.0, 0.0]])
    K = torch.tensor([[100.0, 0.0, 0.0, 0.0], [100.0, 1.0, 0.0, 0.0], [100.0, 0.0, -2.0, 0.0], [-100.0, 0.0, 0.0, 0.0]])
    V = randn(4, 3, seed=40)
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 0]])
    out, weights = attend(sub, Q, K, V, mask)
    scores = "scores range from -10000 to 10000"
    for name, got in (("weights", weights), ("output", out)):
        check(
            hasattr(got, "isfinite") and torch.isfinite(got).all(),
            f"the {name} are not finite when the {scores} (Q, K float32, d=4).",
            diagnosis="The softmax overflows: exp(10000) is inf. Subtract each row's maximum score before "
            "exponentiating (softmax is unchanged by that shift), or use torch.softmax.",
        )
    check_attention((out, weights), Q, K, V, mask, device=device, what=f"with {scores}")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_inputs(sub, device, dtype):
    """float16/bfloat16 in, the same dtype out; scores up to ~15 overflow a float16 exp"""
    Q, K, V = (
        randn(2, 6, 16, seed=50, dtype=dtype, scale=1.5),
        randn(2, 9, 16, seed=51, dtype=dtype, scale=1.5),
        randn(2, 9, 8, seed=52, dtype=dtype),
    )
    mask = bool_mask((6, 9), seed=53)
    mask[:, 0] = True
    got = attend(sub, Q, K, V, mask)
    check_attention(got, Q, K, V, mask, device=device, seed=50)


@settings(
    derandomize=True,
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    report_multiple_bugs=False,  # one failure, not an ExceptionGroup the grader would call its own fault
)
@given(
    lq=st.integers(1, 6),
    lk=st.integers(1, 6),
    d=st.integers(1, 7),
    dv=st.integers(1, 5),
    batch=st.sampled_from([(), (3,), (2, 2)]),
    mask_kind=st.sampled_from(["none", "full", "keys", "rows"]),
    seed=st.integers(0, 10_000),
)
def test_random_shapes_and_masks(sub, lq, lk, d, dv, batch, mask_kind, seed):
    """Random shapes, batch dimensions and masks (fully masked rows included) against torch"""
    Q, K, V = randn(*batch, lq, d, seed=seed), randn(*batch, lk, d, seed=seed + 1), randn(*batch, lk, dv, seed=seed + 2)
    shape = {"none": None, "full": (*batch, lq, lk), "keys": (lk,), "rows": (lq, 1)}[mask_kind]
    mask = None if shape is None else bool_mask(shape, seed=seed + 3, p=0.6)
    got = attend(sub, Q, K, V, mask)
    check_attention(got, Q, K, V, mask, device="cpu", seed=seed)


# ---------------------------------------------------------------- causality


def test_future_keys_do_not_change_past_outputs(sub, device):
    """With a lower-triangular mask, changing keys/values after position t leaves outputs ≤ t unchanged"""
    L = 6
    Q, K, V = randn(2, L, 4, seed=60), randn(2, L, 4, seed=61), randn(2, L, 3, seed=62)
    mask = torch.ones(L, L, dtype=torch.bool).tril()
    base, base_weights = attend(sub, Q, K, V, mask)
    for t in (0, 2, 4):
        K2, V2 = K.clone(), V.clone()
        K2[:, t + 1 :] = randn(2, L - t - 1, 4, seed=63 + t, scale=5.0)
        V2[:, t + 1 :] = randn(2, L - t - 1, 3, seed=73 + t, scale=5.0)
        changed, _ = attend(sub, Q, K2, V2, mask)
        check_close(
            changed[:, : t + 1],
            base[:, : t + 1],
            what=f"the outputs at positions 0..{t}",
            kind="reduction",
            inputs=describe(Q=Q, K=K, V=V, mask=mask),
            hint=f"Changing keys and values after position {t} must not change them under a causal mask.",
            diagnosis=lazy(diagnose, base_weights, Q, K, V, mask),
        )


# ---------------------------------------------------------------- gradients


GRAD_CASES = {
    "no_mask": (None, (2, 5, 4), (2, 7, 4), (2, 7, 3)),
    "bool_mask": ((5, 7), (2, 5, 4), (2, 7, 4), (2, 7, 3)),
    "int_broadcast_mask": ((2, 1, 1, 6), (2, 2, 3, 5), (2, 2, 6, 5), (2, 2, 6, 2)),
}


@pytest.mark.parametrize("case", list(GRAD_CASES))
def test_gradients_match_torch(sub, device, case):
    """Gradients of ⟨g_out, output⟩ + ⟨g_w, weights⟩ w.r.t. Q, K, V, in float64"""
    mask_shape, q_shape, k_shape, v_shape = GRAD_CASES[case]
    f64 = torch.float64
    Q, K, V = (
        randn(*q_shape, seed=80, dtype=f64),
        randn(*k_shape, seed=81, dtype=f64),
        randn(*v_shape, seed=82, dtype=f64),
    )
    mask = None
    if mask_shape is not None:
        mask = bool_mask(mask_shape, seed=83)
        mask[..., 0] = True
        mask = mask.long() if "int" in case else mask
    out_shape, w_shape = (*q_shape[:-1], v_shape[-1]), (*q_shape[:-1], k_shape[-2])
    g_out, g_w = randn(*out_shape, seed=84, dtype=f64), randn(*w_shape, seed=85, dtype=f64)
    result = sub.grad_call(sub.scaled_dot_product_attention, Q, K, V, mask, wrt=[0, 1, 2], grad_outputs=(g_out, g_w))

    leaves = [t.clone().requires_grad_(True) for t in (Q, K, V)]
    want_out, want_w = oracle(*leaves, mask)
    torch.autograd.backward([want_out, want_w], [g_out, g_w])
    inputs = describe(Q=Q, K=K, V=V, **({"mask": mask} if mask is not None else {}))
    check_attention(result.output, Q, K, V, mask, device=device)
    for index, name in enumerate("QKV"):
        got = result.input_grads.get(index)
        if got is None:
            fail(f"no gradient reached {name}: is the computation detached from it (.detach(), .item(), numpy)?")
        check_close(
            got, leaves[index].grad, what=f"the gradient w.r.t. {name}", kind="grad", inputs=inputs, device=device
        )


# ---------------------------------------------------------------- hygiene and errors


def test_inputs_not_modified(sub):
    """Q, K, V and the mask are left unchanged"""
    Q, K, V = randn(2, 4, 8, seed=90), randn(2, 5, 8, seed=91), randn(2, 5, 3, seed=92)
    mask = bool_mask((4, 5), seed=93)
    attend(sub, Q, K, V, mask)
    with diagnosing(IN_PLACE):
        check_unchanged_inputs(sub, ["Q", "K", "V", "mask"])


ERRORS = {
    "d_mismatch": ((3, 4), (5, 6), (5, 2), None, "Q has d=4 but K has d=6"),
    "length_mismatch": ((3, 4), (5, 4), (6, 2), None, "K has 5 keys but V has 6 values"),
    "batched_length_mismatch": ((2, 3, 4), (2, 5, 4), (2, 4, 2), None, "K has 5 keys but V has 4 values"),
    "mask_too_wide": ((3, 4), (5, 4), (5, 2), (3, 6), "the mask [3, 6] does not broadcast to [3, 5]"),
    "mask_too_tall": ((2, 3, 4), (2, 5, 4), (2, 5, 2), (4, 5), "the mask [4, 5] does not broadcast to [2, 3, 5]"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_invalid_shapes_raise_value_error(sub, case):
    """Mismatched feature sizes or lengths, or a mask that does not broadcast: ValueError"""
    q_shape, k_shape, v_shape, mask_shape, why = ERRORS[case]
    Q, K, V = randn(*q_shape, seed=95), randn(*k_shape, seed=96), randn(*v_shape, seed=97)
    mask = None if mask_shape is None else torch.ones(*mask_shape, dtype=torch.bool)
    try:
        sub.scaled_dot_product_attention(Q, K, V, mask)
    except ValueError:
        return
    except RemoteException as exc:
        fail(
            f"expected ValueError when {why}, but the call raised {exc.type_name}: {exc.remote_message[:200]}",
            diagnosis="The shapes are not checked: compare them before computing and raise ValueError with a "
            "message saying what is wrong (torch's own error is a RuntimeError).",
        )
    fail(
        f"expected ValueError when {why}, but the call returned normally",
        diagnosis=f"The shapes are not checked: {why}, and the call went on.",
    )
