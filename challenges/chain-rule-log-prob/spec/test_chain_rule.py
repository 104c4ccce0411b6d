"""Specs for sequence_log_prob and perplexity: values and gradients against torch's
F.cross_entropy in float64, masks (broadcast, bool and 0/1, masked ids never looked up,
rows with nothing counted), large logits, low precision, hygiene and errors."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from grader.spec import (
    RemoteException,
    check,
    check_close,
    describe,
    describe_value,
    diagnosed,
    fail,
    lazy,
    public,
    randn,
    tolerance,
)

FUNCS = ("sequence_log_prob", "perplexity")
F64 = torch.float64
IGNORE = -100

# ---------------------------------------------------------------- data, oracle and diagnosis


def random_tokens(shape, vocab, seed):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, vocab, shape, generator=gen)


def random_mask(shape, seed, p=0.7):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(*shape, generator=gen) < p


def counted_of(tokens, mask):
    return torch.ones(tokens.shape, dtype=torch.bool) if mask is None else (mask != 0).expand(tokens.shape)


def hide_masked(tokens, mask, value=IGNORE):
    """tokens with the ids at uncounted positions replaced by ``value`` (they must never be looked up)."""
    return torch.where(counted_of(tokens, mask), tokens, torch.full_like(tokens, value))


def token_nll(logits, tokens, mask=None):
    """-log p(token_i | prefix) [..., L] in float64 from F.cross_entropy, 0 where not counted."""
    x = logits.double() if not logits.requires_grad else logits
    target = hide_masked(tokens, mask)
    vocab = x.shape[-1]
    nll = F.cross_entropy(x.reshape(-1, vocab), target.reshape(-1), ignore_index=IGNORE, reduction="none")
    return nll.reshape(tokens.shape)


def oracle(name, logits, tokens, mask=None):
    """The expected [...] result in float64 (differentiable w.r.t. a float64 leaf ``logits``)."""
    nll = token_nll(logits, tokens, mask)  # (..., L)
    if name == "sequence_log_prob":
        return -nll.sum(dim=-1)
    count = counted_of(tokens, mask).sum(dim=-1).clamp(min=1)
    return torch.exp(nll.sum(dim=-1) / count)


def magnitude_tolerance(name, logits):
    """(rtol, atol): the dtype's tolerance plus 4 ulps of the largest |logit| per summed position.

    A correct float32 implementation that forms x_t − logsumexp(x) rounds an intermediate of
    magnitude max|x|: ~1e-3 per position at |x| ≈ 1e4, which adds up over the L positions
    of the sum and becomes a relative error of perplexity (exp of the mean).
    """
    rtol, atol = tolerance(logits.dtype, "reduction")
    scale = float(logits.abs().max()) if logits.numel() else 0.0
    per_position = 4 * torch.finfo(torch.promote_types(logits.dtype, torch.float32)).eps * scale
    if name == "perplexity":
        return rtol + per_position, atol
    return rtol, atol + per_position * logits.shape[-2]


def _close(a, b):
    return torch.allclose(a, b, rtol=1e-3, atol=1e-4, equal_nan=True)


def _variants(name, logits, tokens, mask):
    """(wrong result, diagnosis) pairs for the typical mistakes, in float64."""
    x = logits.double()
    counted = counted_of(tokens, mask)
    out = []
    if tokens.shape[-1] > 1:
        shifted_mask = counted[..., 1:]
        nll = token_nll(x[..., :-1, :], tokens[..., 1:], shifted_mask)
        count = shifted_mask.sum(-1).clamp(min=1)
        wrong = -nll.sum(-1) if name == "sequence_log_prob" else torch.exp(nll.sum(-1) / count)
        out.append((wrong, "Position i of logits already scores tokens[..., i]: do not shift logits against tokens."))
    log_probs = torch.log_softmax(x, dim=-2)  # over positions instead of the vocabulary
    picked = log_probs.gather(-1, hide_masked(tokens, mask, 0).unsqueeze(-1)).squeeze(-1) * counted
    count = counted.sum(-1).clamp(min=1)
    wrong = picked.sum(-1) if name == "sequence_log_prob" else torch.exp(-picked.sum(-1) / count)
    out.append((wrong, "The result matches a softmax over positions: normalise over the vocabulary (the last dim)."))
    nll = token_nll(x, tokens, mask)
    if name == "sequence_log_prob":
        out.append((-nll.sum(-1) / count, "The chain rule sums the log-probabilities; it does not average them."))
    else:
        length = tokens.shape[-1]
        out += [
            (torch.exp(nll.sum(-1)), "Perplexity is exp of the MEAN negative log-likelihood, not of the sum."),
            (torch.exp(nll.sum(-1) / length), "Divide by the number of counted positions, not by the length L."),
            (torch.exp(-nll.sum(-1) / count), "Perplexity is exp(−mean log p) ≥ 1: check the sign."),
        ]
    return out


HALF = (torch.float16, torch.bfloat16)


def diagnose(name, got, logits, tokens, mask=None, sub=None):
    """The typical mistake the submission's output matches (and the right answer does not), or ''.

    With ``sub``, a wrong result for a broadcast mask is checked once more with the mask
    expanded to tokens' shape: right then means the broadcast mask was used as given."""
    if not hasattr(got, "shape"):
        return ""
    expected = oracle(name, logits, tokens, mask)
    if got.dtype != logits.dtype:
        if logits.dtype in HALF and got.dtype == torch.float32:
            return f"The result is computed in float32 but not cast back to the input's dtype ({logits.dtype})."
        if logits.dtype == F64 and got.dtype == torch.float32:
            return "A float64 input is computed in float32 (.float()): compute float64 logits in float64."
        return ""
    g = got.double()
    if g.shape != expected.shape:
        return f"The result has one value per sequence: shape tokens.shape[:-1] = {list(tokens.shape[:-1])}."
    bad = ~torch.isfinite(g) & torch.isfinite(expected)
    empty = counted_of(tokens, mask).sum(dim=-1) == 0  # (...) sequences with nothing counted
    if (bad & empty).any():
        return "A sequence with no counted position must give log-probability 0 and perplexity 1: avoid 0/0."
    if bad.any():
        if logits.dtype in HALF:
            return f"The {logits.dtype} logits overflow: compute in float32 (logits.float()) and cast the result back."
        if torch.isnan(g[bad]).any():
            return (
                "exp(x) overflows for large logits (inf / inf = nan): subtract the maximum first, i.e. use "
                "log_softmax (x − logsumexp(x)) rather than log(exp(x) / Σ exp(x))."
            )
        return (
            "log(softmax(x)) underflows: an unlikely token's probability rounds to 0 and its log to −inf; "
            "use log_softmax (x − logsumexp(x))."
        )
    if logits.dtype == F64 and _float32_sized(name, g, expected, logits):
        return "A float64 input is computed in float32 (.float()): compute float64 logits in float64."
    if sub is not None and mask is not None and mask.shape != tokens.shape:
        expanded = call(sub, name, logits, tokens, mask.expand(tokens.shape).clone())
        if hasattr(expanded, "shape") and expanded.shape == expected.shape and _close(expanded.double(), expected):
            return (
                "A broadcast mask (such as [B, 1]) is used as given: expand it to tokens' shape before counting "
                "the positions of each sequence."
            )
    found = {
        diagnosis
        for wrong, diagnosis in _variants(name, logits, tokens, mask)
        if wrong.shape == g.shape and not _close(wrong, expected) and _close(g, wrong)
    }
    return found.pop() if len(found) == 1 else ""  # several: the value cannot tell them apart


def _float32_sized(name, got, expected, logits):
    """True if got is off by more than float64 rounding but no more than a float32 computation would be."""
    rtol, atol = magnitude_tolerance(name, logits.float())
    off64 = ~torch.isclose(got, expected, rtol=1e-9, atol=1e-9)
    within32 = torch.isclose(got, expected, rtol=rtol, atol=atol)
    return bool(off64.any() and within32.all())


def masked_lookup_diagnosis(sub, name, logits, tokens, mask):
    """Why the call raised on ids at masked positions: run it again with those ids replaced by 0.
    Right then: the masked ids are looked up; the result for the inverted mask: the mask's polarity."""
    if mask is None:
        return ""
    counted = counted_of(tokens, mask)
    vocab = logits.shape[-1]
    if not ((tokens[~counted] < 0) | (tokens[~counted] >= vocab)).any():
        return ""
    clean = hide_masked(tokens, mask, 0)
    got = call(sub, name, logits, clean, mask)
    if not hasattr(got, "shape") or got.shape != tokens.shape[:-1]:
        return ""
    g = got.double()
    if _close(g, oracle(name, logits, clean, mask)):
        return (
            "The ids at masked positions (such as -100) are used as indices: replace them (e.g. by 0) before "
            "gather, then leave those positions out."
        )
    if _close(g, oracle(name, logits, clean, counted_of(tokens, mask) == 0)):
        return "The mask's polarity is flipped: True/1 means the position is counted, False/0 that it is left out."
    return ""


def call(sub, name, logits, tokens, mask=None):
    fn = getattr(sub, name)
    return fn(logits, tokens) if mask is None else fn(logits, tokens, mask)


def check_fn(sub, name, logits, tokens, mask=None, *, device, what="", hint="", seed=None, expected=None, **kwargs):
    """Call ``name`` and compare with the float64 oracle cast to logits' dtype."""
    __tracebackhide__ = True
    try:
        got = call(sub, name, logits, tokens, mask)
    except RemoteException as exc:
        exc.diagnosis = diagnosed(lazy(masked_lookup_diagnosis, sub, name, logits, tokens, mask))
        raise
    want = oracle(name, logits, tokens, mask) if expected is None else expected
    inputs = describe(logits=logits, tokens=tokens, **({} if mask is None else {"mask": mask}))
    if "rtol" not in kwargs:
        kwargs["rtol"], kwargs["atol"] = magnitude_tolerance(name, logits)
    check_close(
        got,
        want.to(logits.dtype),
        what=f"{what}{name}",
        kind="reduction",
        inputs=inputs,
        seed=seed,
        hint=hint,
        diagnosis=lazy(diagnose, name, got, logits, tokens, mask, sub=sub),
        device=device,
        **kwargs,
    )
    return got


# ---------------------------------------------------------------- values


HAND_LOGITS = torch.tensor([[0.0, 0.0, 0.0], [2.0, 0.0, -1.0], [1.0, 3.0, 0.0]], dtype=F64)


def _hand_log_prob(row, token):
    return row[token] - math.log(sum(math.exp(v) for v in row))


@public
def test_hand_computed_example(sub, device):
    """Three positions scoring tokens [2, 0, 1]: log p = log(1/3) + log(e²/(e²+1+e⁻¹)) + log(e³/(e+e³+1))"""
    tokens = torch.tensor([2, 0, 1])
    rows = HAND_LOGITS.tolist()
    log_prob = sum(_hand_log_prob(r, t) for r, t in zip(rows, tokens.tolist()))
    check_fn(sub, "sequence_log_prob", HAND_LOGITS, tokens, device=device, expected=torch.tensor(log_prob, dtype=F64))
    ppl = torch.tensor(math.exp(-log_prob / 3), dtype=F64)
    check_fn(sub, "perplexity", HAND_LOGITS, tokens, device=device, expected=ppl)


@public
def test_hand_computed_masked_example(sub, device):
    """The same logits, position 1 masked out and holding the id -100: it is neither counted nor looked up"""
    tokens = torch.tensor([2, IGNORE, 1])
    mask = torch.tensor([True, False, True])
    rows = HAND_LOGITS.tolist()
    log_prob = _hand_log_prob(rows[0], 2) + _hand_log_prob(rows[2], 1)
    hint = "Masked positions are left out of the sum and of the count, and their ids are never used as indices."
    expected = torch.tensor(log_prob, dtype=F64)
    check_fn(sub, "sequence_log_prob", HAND_LOGITS, tokens, mask, device=device, expected=expected, hint=hint)
    ppl = torch.tensor(math.exp(-log_prob / 2), dtype=F64)
    check_fn(sub, "perplexity", HAND_LOGITS, tokens, mask, device=device, expected=ppl, hint=hint)


SHAPES = {"no_batch": (), "batch_3": (3,), "batch_2x3": (2, 3)}


@pytest.mark.parametrize("case", list(SHAPES))
def test_matches_torch_with_leading_dims(sub, device, case):
    """No mask: values match F.cross_entropy-based log-probabilities, with 0, 1 or 2 leading dimensions"""
    batch = SHAPES[case]
    logits = randn(*batch, 7, 11, seed=1, scale=2.0)
    tokens = random_tokens((*batch, 7), 11, seed=2)
    for name in FUNCS:
        check_fn(sub, name, logits, tokens, device=device, seed=1)


def test_float64_is_computed_in_float64(sub, device):
    """float64 logits near 1000 keep float64 accuracy (a float32 round trip is ~1e-4 off)"""
    logits = randn(2, 6, 9, seed=3, dtype=F64) + 1000.0
    tokens = random_tokens((2, 6), 9, seed=4)
    for name in FUNCS:
        check_fn(sub, name, logits, tokens, device=device)


MASKS = {
    "bool_same_shape": (torch.bool, (4, 6)),
    "int_same_shape": (torch.int64, (4, 6)),
    "uint8_same_shape": (torch.uint8, (4, 6)),
    "bool_positions_L": (torch.bool, (6,)),
    "int_rows_B_1": (torch.int64, (4, 1)),
}


@pytest.mark.parametrize("case", list(MASKS))
def test_masks_bool_int_and_broadcast(sub, device, case):
    """A bool or 0/1 mask, of tokens' shape or broadcasting to it; masked ids are -100"""
    dtype, shape = MASKS[case]
    logits = randn(4, 6, 10, seed=5, scale=2.0)
    allowed = random_mask(shape, seed=6)
    allowed[..., 0] = True
    tokens = hide_masked(random_tokens((4, 6), 10, seed=7), allowed)
    mask = allowed.to(dtype)
    for name in FUNCS:
        check_fn(sub, name, logits, tokens, mask, device=device, seed=5)


def test_masked_ids_are_never_looked_up(sub, device):
    """Masked positions may hold any id (-100, -1, V, 10**6): the results use only counted positions"""
    logits = randn(3, 5, 8, seed=8)
    clean = random_tokens((3, 5), 8, seed=9)
    mask = torch.tensor([[1, 0, 1, 0, 1], [0, 1, 1, 1, 0], [1, 1, 0, 1, 1]], dtype=torch.bool)
    tokens = clean.clone()
    tokens[~mask] = torch.tensor([IGNORE, -1, 8, 10**6, -7])
    for name in FUNCS:
        check_fn(
            sub,
            name,
            logits,
            tokens,
            mask,
            device=device,
            expected=oracle(name, logits, clean, mask),
            hint="Replace the ids at masked positions (e.g. by 0) before gathering, then leave those positions out.",
        )


def test_rows_with_no_counted_position(sub, device):
    """A sequence whose positions are all masked has log-probability 0 and perplexity 1 (not nan)"""
    logits = randn(3, 4, 6, seed=10, scale=3.0)
    mask = torch.tensor([[1, 1, 0, 1], [0, 0, 0, 0], [1, 0, 0, 0]])
    tokens = hide_masked(random_tokens((3, 4), 6, seed=11), mask)
    hint = "A sequence with no counted position: the sum is 0, and its mean NLL is taken as 0, so perplexity is 1."
    got = check_fn(sub, "sequence_log_prob", logits, tokens, mask, device=device, hint=hint)
    check(got[1] == 0, "sequence_log_prob of a sequence with no counted position must be exactly 0.")
    got = check_fn(sub, "perplexity", logits, tokens, mask, device=device, hint=hint)
    check(got[1] == 1, "perplexity of a sequence with no counted position must be exactly 1.")


def test_large_logits_stay_finite(sub, device):
    """Logits of magnitude 1e4 (float32): log-probabilities near -2e4 and perplexities of likely tokens are finite"""
    logits = randn(2, 6, 9, seed=12, scale=1e4)
    top2 = logits.topk(2, dim=-1)
    # a close runner-up one unit below the maximum, so that perplexity is not trivially 1
    logits.scatter_(-1, top2.indices[..., 1:], top2.values[..., :1] - 1.0)
    likely = torch.where(torch.arange(6) % 2 == 0, top2.indices[..., 0], top2.indices[..., 1])  # (2, 6)
    unlikely = random_tokens((2, 6), 9, seed=13)
    what = "with logits of magnitude 1e4: "
    check_fn(sub, "sequence_log_prob", logits, unlikely, device=device, what=what)
    check_fn(sub, "sequence_log_prob", logits, likely, device=device, what=what)
    check_fn(sub, "perplexity", logits, likely, device=device, what=what)


def test_float16_logits(sub, device):
    """float16 logits like [10, 11, 12] (exp(12) overflows float16): float16 results, no overflow"""
    logits = (randn(2, 5, 8, seed=14, scale=2.0) + 11.0).to(torch.float16)
    logits[0, 0, :3] = torch.tensor([10.0, 11.0, 12.0])
    tokens = random_tokens((2, 5), 8, seed=15)
    mask = random_mask((2, 5), seed=16)
    tokens = hide_masked(tokens, mask)
    for name in FUNCS:
        check_fn(
            sub,
            name,
            logits,
            tokens,
            mask,
            device=device,
            seed=14,
            hint="Compute in float32 and cast the result back to float16.",
        )


@settings(
    derandomize=True,
    max_examples=25,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failing case is reported as drawn
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    report_multiple_bugs=False,
)
@given(
    batch=st.sampled_from([(), (2,), (2, 3)]),
    length=st.integers(1, 6),
    vocab=st.integers(1, 7),
    mask_kind=st.sampled_from(["none", "full", "positions", "rows"]),
    scale=st.sampled_from([0.5, 3.0, 20.0]),
    seed=st.integers(0, 10_000),
)
def test_random_shapes_and_masks(sub, batch, length, vocab, mask_kind, scale, seed):
    """Random shapes, vocabulary sizes (1 included) and masks, against F.cross_entropy"""
    logits = randn(*batch, length, vocab, seed=seed, scale=scale)
    shape = {"none": None, "full": (*batch, length), "positions": (length,), "rows": (*batch, 1)}[mask_kind]
    mask = None if shape is None else random_mask(shape, seed=seed + 1, p=0.6)
    tokens = hide_masked(random_tokens((*batch, length), vocab, seed=seed + 2), mask)
    for name in FUNCS:
        got = call(sub, name, logits, tokens, mask)
        want = oracle(name, logits, tokens, mask)
        rtol, atol = magnitude_tolerance(name, logits)
        check_close(
            got,
            want.float(),
            what=name,
            rtol=rtol,
            atol=atol,
            inputs=describe(logits=logits, tokens=tokens, mask=mask),
            seed=seed,
            diagnosis=lazy(diagnose, name, got, logits, tokens, mask, sub=sub),
        )


# ---------------------------------------------------------------- gradients


@pytest.mark.parametrize("name", FUNCS)
def test_gradients_match_torch(sub, device, name):
    """Gradients w.r.t. logits in float64 match torch's, with a mask and a sequence with nothing counted"""
    logits = randn(3, 5, 7, seed=20, dtype=F64, scale=2.0)
    mask = random_mask((3, 5), seed=21)
    mask[0, 0] = True
    mask[2] = False
    tokens = hide_masked(random_tokens((3, 5), 7, seed=22), mask)
    g = randn(3, seed=23, dtype=F64)
    leaf = logits.clone().requires_grad_(True)
    want = oracle(name, leaf, tokens, mask)
    want.backward(g)
    result = sub.grad_call(getattr(sub, name), logits, tokens, mask, wrt=[0], grad_outputs=g)
    inputs = describe(logits=logits, tokens=tokens, mask=mask)
    check_close(
        result.output,
        want.detach(),
        what=name,
        kind="reduction",
        inputs=inputs,
        diagnosis=lazy(diagnose, name, result.output, logits, tokens, mask),
        device=device,
    )
    grad = result.input_grads.get(0)
    if grad is None:
        fail(f"no gradient reached logits in {name}: is the computation detached from it (.detach(), .item())?")
    check_close(
        grad,
        leaf.grad,
        what=f"the gradient of {name} w.r.t. logits",
        kind="grad",
        inputs=inputs,
        device=device,
        hint="Masked positions and a sequence with nothing counted must get zero gradient.",
    )


# ---------------------------------------------------------------- hygiene and errors


def test_inputs_not_modified(sub):
    """logits, tokens and mask are left unchanged"""
    logits = randn(2, 4, 5, seed=30)
    mask = torch.tensor([[1, 0, 1, 1], [0, 1, 1, 0]], dtype=torch.bool)
    tokens = hide_masked(random_tokens((2, 4), 5, seed=31), mask)
    for name in FUNCS:
        call(sub, name, logits, tokens, mask)
        names = ["logits", "tokens", "mask"]
        changed = [names[i] if isinstance(i, int) and i < 3 else str(i) for i in sub.last_call.mutated]
        check(
            not changed,
            f"{name}(logits, tokens, mask) modified {', '.join(changed)} in place; inputs must be left unchanged.",
            diagnosis=f"{' and '.join(changed)} is modified in place (e.g. masked_fill_ or an indexed assignment): "
            "work on a new tensor (torch.where, .clone()).",
        )


ERRORS = {
    "tokens_too_short": ((2, 5, 6), (2, 4), None, "tokens [2, 4] do not match logits [2, 5, 6]"),
    "tokens_missing_batch": ((2, 5, 6), (5,), None, "tokens [5] do not match logits [2, 5, 6]"),
    "mask_does_not_broadcast": ((2, 5, 6), (2, 5), (3,), "mask [3] does not broadcast to tokens [2, 5]"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_invalid_shapes_raise_value_error(sub, case):
    """tokens not of shape logits.shape[:-1], or a mask that does not broadcast to tokens: ValueError"""
    logits_shape, tokens_shape, mask_shape, why = ERRORS[case]
    logits = randn(*logits_shape, seed=40)
    tokens = random_tokens(tokens_shape, logits_shape[-1], seed=41)
    mask = None if mask_shape is None else torch.ones(mask_shape, dtype=torch.bool)
    for name in FUNCS:
        args = describe(logits=logits, tokens=tokens, **({} if mask is None else {"mask": mask}))
        try:
            got = call(sub, name, logits, tokens, mask)
        except ValueError:  # the submission's own ValueError is one too
            continue
        except RemoteException as exc:
            fail(
                f"{name}({args}) should raise ValueError ({why}), but it raised {exc.type_name}: "
                f"{exc.remote_message[:200]}"
            )
        checked = "the mask's shape is" if mask is not None else "tokens' shape is"
        fail(
            f"{name}({args}) should raise ValueError ({why}), but it returned {describe_value(got)}.",
            diagnosis=f"{checked} not checked: {why} must raise ValueError.",
        )
