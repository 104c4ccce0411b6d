"""Specs for cross_entropy_loss: values and gradients against torch's F.cross_entropy in
float64 with the same ignore_index, label_smoothing and reduction; large logits, low
precision, all-ignored batches, hygiene and errors."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, Phase, given, settings
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
    tolerance,
)

F64 = torch.float64
IGNORE = -100
REDUCTIONS = ("none", "mean", "sum")

# ---------------------------------------------------------------- data, oracle and diagnosis


def random_target(n, classes, seed, ignored=0.0, ignore_index=IGNORE):
    """Seeded class ids in [0, classes), a fraction ``ignored`` of them set to ignore_index."""
    gen = torch.Generator().manual_seed(seed)
    target = torch.randint(0, classes, (n,), generator=gen)
    drop = torch.rand(n, generator=gen) < ignored
    return torch.where(drop, torch.full_like(target, ignore_index), target)


def oracle(logits, target, ignore_index=IGNORE, label_smoothing=0.0, reduction="mean"):
    """F.cross_entropy in float64 (differentiable w.r.t. a float64 leaf ``logits``)."""
    x = logits if logits.requires_grad else logits.double()
    return F.cross_entropy(x, target, ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction)


def _reduce(losses, kept, reduction, count=None):
    losses = torch.where(kept, losses, torch.zeros_like(losses))
    if reduction == "none":
        return losses
    if reduction == "sum":
        return losses.sum()
    return losses.sum() / (kept.sum() if count is None else count)


def _variants(logits, target, ignore_index, eps, reduction):
    """(wrong result, hint) pairs for the typical mistakes, in float64."""
    x = logits.double()
    kept = target != ignore_index
    safe = torch.where(kept, target, torch.zeros_like(target))
    n, classes = x.shape
    out = []

    def per_sample(log_probs):
        nll = -log_probs.gather(1, safe[:, None]).squeeze(1)
        return (1 - eps) * nll + eps * -log_probs.mean(dim=-1)

    log_probs = torch.log_softmax(x, dim=-1)
    nll = -log_probs.gather(1, safe[:, None]).squeeze(1)
    right = per_sample(log_probs)
    if reduction == "mean":
        out.append(
            (
                _reduce(right, kept, reduction, count=n),
                "the mean is taken over all N samples: divide by the number of samples that are not ignored.",
            )
        )
    if eps > 0:
        others = (-log_probs.sum(dim=-1) - nll) / max(classes - 1, 1)
        out.append(
            (
                _reduce((1 - eps) * nll + eps * others, kept, reduction),
                "label smoothing spreads ε over the C − 1 other classes only: the uniform part is over all C "
                "classes, the target included, so loss = (1 − ε)·(−log p_target) + ε·mean_c(−log p_c).",
            )
        )
        out.append(
            (
                _reduce((1 - eps) * nll + eps * -log_probs.sum(dim=-1), kept, reduction),
                "the smoothing term sums −log p_c over the classes: it is ε times their mean (each class gets ε/C).",
            )
        )
        out.append(
            (
                _reduce(nll + eps * -log_probs.mean(dim=-1), kept, reduction),
                "the target's term is not weighted by (1 − ε) when smoothing.",
            )
        )
        out.append(
            (
                _reduce((1 - eps) * nll * kept - eps * log_probs.mean(dim=-1), torch.ones_like(kept), reduction)
                / (kept.sum() if reduction == "mean" else 1),
                "ignored samples still get the smoothing term: leave them out of the whole loss.",
            )
        )
    if n > 1:
        out.append(
            (
                _reduce(per_sample(torch.log_softmax(x, dim=0)), kept, reduction),
                "the softmax is taken over the batch (dim 0): normalise over the classes (the last dim).",
            )
        )
    return out


def magnitude_tolerance(logits, reduction):
    """(rtol, atol): the dtype's tolerance plus 4 ulps of the largest |logit| per summed sample.

    A correct float32 implementation that forms x_t − logsumexp(x) rounds an intermediate of
    magnitude max|x|, ~1e-3 at |x| ≈ 1e4; "sum" adds that up over the N samples.
    """
    rtol, atol = tolerance(logits.dtype, "reduction")
    scale = float(logits.abs().max()) if logits.numel() else 0.0
    per_sample = 4 * torch.finfo(torch.promote_types(logits.dtype, torch.float32)).eps * scale
    return rtol, atol + per_sample * (logits.shape[0] if reduction == "sum" else 1)


def _close(a, b):
    return torch.allclose(a, b, rtol=1e-3, atol=1e-4, equal_nan=True)


def _per_sample_from(log_probs, target, ignore_index, eps, reduction):
    """The loss as the usual formula builds it from ``log_probs``, nan and inf included."""
    kept = target != ignore_index
    safe = torch.where(kept, target, torch.zeros_like(target))
    nll = -log_probs.gather(1, safe[:, None]).squeeze(1)
    losses = (1 - eps) * nll + eps * -log_probs.mean(dim=-1)
    return _reduce(losses, kept, reduction)


def _overflow_variants(logits, target, ignore_index, eps, reduction):
    """(wrong result, diagnosis) for the two unstable log-softmaxes, computed as a submission would."""
    x = logits.to(torch.promote_types(logits.dtype, torch.float32))
    shifted = x - x.amax(dim=-1, keepdim=True)
    e = torch.exp(shifted)
    return [
        (
            _per_sample_from(
                x - torch.log(torch.exp(x).sum(dim=-1, keepdim=True)), target, ignore_index, eps, reduction
            ),
            "exp(logits) overflows because the row maximum is not subtracted first: compute log-probabilities as "
            "(x − m) − log Σ exp(x − m).",
        ),
        (
            _per_sample_from(torch.log(e / e.sum(dim=-1, keepdim=True)), target, ignore_index, eps, reduction),
            "the log-probabilities are computed as log(softmax(x)): a probability that underflows to 0 gives "
            "log(0) = -inf; compute (x − m) − log Σ exp(x − m) instead.",
        ),
    ]


def _float32_values(g):
    """Whether every finite, nonzero value of g is exactly a float32 number (and there is one):
    the trace of a float64 input computed in float32 and cast back."""
    values = g[torch.isfinite(g) & (g != 0)]
    return values.numel() > 0 and torch.equal(values.float().double(), values)


def diagnose(got, logits, target, ignore_index=IGNORE, label_smoothing=0.0, reduction="mean"):
    """The typical mistake the submission's result matches (and the right answer does not), or ''."""
    if not hasattr(got, "shape"):
        return ""
    expected = oracle(logits, target, ignore_index, label_smoothing, reduction)
    if got.shape != expected.shape:
        kept = int((target != ignore_index).sum())
        if reduction == "none" and list(got.shape) == [kept] and kept < target.shape[0]:
            return "reduction='none' drops the ignored samples: return one loss per sample, [N], with 0 for them."
        if reduction != "none" and got.dim() == 1:
            return f"reduction={reduction!r} returns the per-sample losses: it must reduce them to a 0-d tensor."
        return ""
    if got.dtype != logits.dtype:
        return (
            f"the loss has dtype {str(got.dtype)[6:]}, not the logits' dtype {str(logits.dtype)[6:]}: compute "
            "float16/bfloat16 in float32 (float64 stays float64) and cast the result back with .to(logits.dtype)."
        )
    g = got.double()
    broken = ~torch.isfinite(g) & torch.isfinite(expected)
    if broken.any():
        matches = [
            text
            for wrong, text in _overflow_variants(logits, target, ignore_index, label_smoothing, reduction)
            if torch.equal(torch.isfinite(wrong), torch.isfinite(g))
        ]
        return matches[0] if len(matches) == 1 else ""
    if logits.dtype == F64 and _float32_values(g):  # every value a float32 one: a float32 round trip
        return "float64 logits are computed in float32 (.float()): only float16/bfloat16 go up to float32."
    for wrong, text in _variants(logits, target, ignore_index, label_smoothing, reduction):
        if wrong.shape == g.shape and not _close(wrong, expected) and _close(g, wrong):
            return text
    return ""


def call_loss(sub, logits, target, **opts):
    """sub.cross_entropy_loss(logits, target, **opts); an ignored target used as an index is a Wrong Answer."""
    __tracebackhide__ = True
    try:
        return sub.cross_entropy_loss(logits, target, **opts)
    except RemoteException as exc:
        ignore_index = opts.get("ignore_index", IGNORE)
        if "out of bounds" in exc.remote_message and bool((target == ignore_index).any()):
            fail(
                f"cross_entropy_loss raised {exc.type_name}: {exc.remote_message[:200]}. "
                f"Inputs: {describe(logits=logits, target=target, **opts)}.",
                diagnosis=f"the ignored targets ({ignore_index}) are used as an index: replace them (e.g. by 0) "
                "before gather, then zero their losses.",
            )
        raise


def options(ignore_index=IGNORE, label_smoothing=0.0, reduction="mean"):
    return {"ignore_index": ignore_index, "label_smoothing": label_smoothing, "reduction": reduction}


def check_loss(sub, logits, target, *, device, what="", hint="", seed=None, expected=None, **opts):
    """Call the submission with ``opts`` and compare with F.cross_entropy cast to logits' dtype."""
    __tracebackhide__ = True
    opts = options(**opts)
    got = call_loss(sub, logits, target, **opts)
    want = oracle(logits, target, **opts) if expected is None else expected
    rtol, atol = magnitude_tolerance(logits, opts["reduction"])
    check_close(
        got,
        want.to(logits.dtype),
        what=f"{what}the loss",
        rtol=rtol,
        atol=atol,
        inputs=describe(logits=logits, target=target, **opts),
        seed=seed,
        hint=hint,
        diagnosis=lazy(diagnose, got, logits, target, **opts),
        device=device,
    )
    return got


# ---------------------------------------------------------------- values


HAND_LOGITS = torch.tensor([[2.0, 1.0, 0.0], [0.0, 0.0, 3.0]], dtype=F64)


def _lse(row):
    return math.log(sum(math.exp(v) for v in row))


@public
def test_hand_computed_example(sub, device):
    """logits [[2, 1, 0], [0, 0, 3]], target [0, 2]: losses log(e²+e+1) − 2 and log(2+e³) − 3"""
    target = torch.tensor([0, 2])
    losses = [_lse(row) - row[t] for row, t in zip(HAND_LOGITS.tolist(), target.tolist())]
    expected = {
        "none": torch.tensor(losses, dtype=F64),
        "sum": torch.tensor(sum(losses), dtype=F64),
        "mean": torch.tensor(sum(losses) / 2, dtype=F64),
    }
    for reduction in REDUCTIONS:
        check_loss(
            sub,
            HAND_LOGITS,
            target,
            device=device,
            reduction=reduction,
            expected=expected[reduction],
            what=f"reduction={reduction!r}: ",
        )


@public
def test_hand_computed_smoothing_and_ignore(sub, device):
    """ε = 0.1 over C = 3 classes: loss = 0.9·(−log p_target) + 0.1·mean_c(−log p_c); the -100 sample is left out"""
    target = torch.tensor([0, IGNORE])
    row = HAND_LOGITS[0].tolist()
    loss = 0.9 * (_lse(row) - row[0]) + 0.1 * sum(_lse(row) - v for v in row) / 3
    check_loss(
        sub,
        HAND_LOGITS,
        target,
        device=device,
        label_smoothing=0.1,
        reduction="none",
        expected=torch.tensor([loss, 0.0], dtype=F64),
        what="reduction='none': ",
    )
    check_loss(
        sub,
        HAND_LOGITS,
        target,
        device=device,
        label_smoothing=0.1,
        expected=torch.tensor(loss, dtype=F64),
        what="reduction='mean': ",
    )


@pytest.mark.parametrize("label_smoothing", [0.0, 0.15, 1.0])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_matches_torch(sub, device, reduction, label_smoothing):
    """Values match F.cross_entropy with the same reduction and label_smoothing, some targets ignored"""
    logits = randn(12, 7, seed=1, scale=2.0)
    target = random_target(12, 7, seed=2, ignored=0.3)
    check_loss(sub, logits, target, device=device, seed=1, reduction=reduction, label_smoothing=label_smoothing)


@pytest.mark.parametrize("ignore_index", [2, 99])
def test_other_ignore_index(sub, device, ignore_index):
    """ignore_index may be a real class id (2) or any other integer (99): targets equal to it are ignored"""
    logits = randn(10, 5, seed=3, scale=2.0)
    target = random_target(10, 5, seed=4, ignored=0.3, ignore_index=ignore_index)
    for reduction in REDUCTIONS:
        check_loss(
            sub, logits, target, device=device, ignore_index=ignore_index, reduction=reduction, label_smoothing=0.2
        )


@pytest.mark.parametrize("label_smoothing", [0.0, 0.2])
def test_all_ignored(sub, device, label_smoothing):
    """Every target ignored: mean is nan (0/0, as torch) with zero gradients; sum is 0; none is all zeros"""
    logits = randn(4, 5, seed=5, dtype=F64)
    target = torch.full((4,), IGNORE)
    for reduction in ("none", "sum"):
        check_loss(sub, logits, target, device=device, reduction=reduction, label_smoothing=label_smoothing)
    result = sub.grad_call(
        sub.cross_entropy_loss,
        logits,
        target,
        wrt=[0],
        grad_outputs=torch.tensor(1.0, dtype=F64),
        **options(label_smoothing=label_smoothing),
    )
    inputs = describe(logits=logits, target=target, label_smoothing=label_smoothing)
    out = result.output
    got = describe_value(out) if not hasattr(out, "shape") or out.shape != () else f"{float(out):.6g}"
    check(
        hasattr(out, "shape") and out.shape == () and bool(torch.isnan(out)),
        f"reduction='mean' with every target ignored should give nan (0/0, as torch does), but it gave {got}. "
        f"Inputs: {inputs}.",
        diagnosis=(
            "when every sample is ignored, 'mean' returns 0: it is 0/0, nan as in torch (with zero gradients)."
            if hasattr(out, "shape") and out.shape == () and float(out) == 0.0
            else ""
        ),
    )
    grad = result.input_grads.get(0)
    if grad is None:
        fail("no gradient reached logits: is the computation detached from it (.detach(), .item())?")
    check_close(
        grad,
        torch.zeros_like(logits),
        what="the gradient of the all-ignored mean",
        kind="grad",
        inputs=inputs,
        device=device,
        diagnosis=(
            "the all-ignored mean divides 0 by 0 on the gradient path, so the gradients are nan: divide by "
            "max(count, 1) and only then put the nan in with torch.where (torch's gradient here is zero)."
            if bool(torch.isnan(grad).any())
            else ""
        ),
    )


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_large_logits_stay_finite(sub, device, label_smoothing):
    """float32 logits of magnitude 1e4: finite losses accurate to float32 tolerance (exp(1e4) overflows)"""
    logits = torch.cat([torch.tensor([[1e4, 0.0, -1e4, 9999.0], [-1e4, -1e4, -9990.0, -9999.0]]), randn(6, 4, seed=6)])
    logits[2:] *= 1e4
    target = torch.tensor([2, 0, 1, 3, 0, 2, IGNORE, 1])
    for reduction in ("none", "mean"):
        check_loss(
            sub,
            logits,
            target,
            device=device,
            reduction=reduction,
            label_smoothing=label_smoothing,
            what="with logits of magnitude 1e4: ",
        )


def test_float16_logits(sub, device):
    """float16 logits like [10, 11, 12] (exp(12) overflows float16): a float16 loss, no overflow"""
    logits = (randn(6, 5, seed=7, scale=2.0) + 11.0).to(torch.float16)
    logits[0, :3] = torch.tensor([10.0, 11.0, 12.0])
    target = random_target(6, 5, seed=8, ignored=0.2)
    for reduction in REDUCTIONS:
        check_loss(
            sub,
            logits,
            target,
            device=device,
            reduction=reduction,
            label_smoothing=0.1,
        )


def test_float64_accuracy_near_1000(sub, device):
    """float64 logits near 1000: float64 accuracy (a float32 round trip is ~1e-4 off; exp(1000) overflows)"""
    logits = randn(6, 5, seed=9, dtype=F64) + 1000.0
    target = random_target(6, 5, seed=10)
    for reduction in ("none", "mean"):
        check_loss(
            sub,
            logits,
            target,
            device=device,
            reduction=reduction,
            label_smoothing=0.05,
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
    n=st.integers(1, 8),
    classes=st.integers(1, 6),
    ignored=st.sampled_from([0.0, 0.3, 1.0]),
    label_smoothing=st.sampled_from([0.0, 0.1, 0.5, 1.0]),
    reduction=st.sampled_from(REDUCTIONS),
    scale=st.sampled_from([1.0, 10.0, 1e4]),
    seed=st.integers(0, 10_000),
)
def test_random_cases(sub, n, classes, ignored, label_smoothing, reduction, scale, seed):
    """Random sizes (one class included), ignored fractions, smoothing, reductions and magnitudes, against torch"""
    logits = randn(n, classes, seed=seed, scale=scale)
    target = random_target(n, classes, seed=seed + 1, ignored=ignored)
    opts = options(label_smoothing=label_smoothing, reduction=reduction)
    got = call_loss(sub, logits, target, **opts)
    want = oracle(logits, target, **opts)
    rtol, atol = magnitude_tolerance(logits, reduction)
    check_close(
        got,
        want.float(),
        what="the loss",
        rtol=rtol,
        atol=atol,
        inputs=describe(logits=logits, target=target, **opts),
        seed=seed,
        diagnosis=lazy(diagnose, got, logits, target, **opts),
    )


# ---------------------------------------------------------------- gradients


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradients_match_torch(sub, device, reduction):
    """Gradients w.r.t. logits in float64 match F.cross_entropy's, for ε = 0, 0.25 and 1, some targets ignored"""
    logits = randn(9, 6, seed=20, dtype=F64, scale=2.0)
    target = random_target(9, 6, seed=21, ignored=0.3)
    for label_smoothing in (0.0, 0.25, 1.0):
        opts = options(label_smoothing=label_smoothing, reduction=reduction)
        leaf = logits.clone().requires_grad_(True)
        want = oracle(leaf, target, **opts)
        g = torch.randn(want.shape, generator=torch.Generator().manual_seed(22), dtype=F64)  # () or (N,)
        want.backward(g)
        result = sub.grad_call(sub.cross_entropy_loss, logits, target, wrt=[0], grad_outputs=g, **opts)
        inputs = describe(logits=logits, target=target, **opts)
        check_close(
            result.output,
            want.detach(),
            what="the loss",
            kind="reduction",
            inputs=inputs,
            diagnosis=lazy(diagnose, result.output, logits, target, **opts),
            device=device,
        )
        grad = result.input_grads.get(0)
        if grad is None:
            fail("no gradient reached logits: is the computation detached from it (.detach(), .item())?")
        check_close(
            grad,
            leaf.grad,
            what="the gradient w.r.t. logits",
            kind="grad",
            inputs=inputs,
            device=device,
            hint="Ignored samples must get zero gradient.",
        )


# ---------------------------------------------------------------- hygiene and errors


def test_inputs_not_modified(sub):
    """logits and target are left unchanged"""
    logits = randn(5, 4, seed=30, scale=3.0)
    target = torch.tensor([1, IGNORE, 3, 0, IGNORE])
    for reduction in REDUCTIONS:
        call_loss(sub, logits, target, **options(label_smoothing=0.1, reduction=reduction))
        mutated = sub.last_call.mutated
        names = ", ".join(["logits", "target"][m] if isinstance(m, int) and m < 2 else str(m) for m in mutated)
        check(
            not mutated,
            f"cross_entropy_loss(logits, target, label_smoothing=0.1, reduction={reduction!r}) changed {names} "
            f"in place. Inputs: {describe(logits=logits, target=target)}.",
            diagnosis=f"{names} is modified in place (an in-place op such as sub_ or -=): work on new tensors.",
        )


ERRORS = {
    "smoothing_negative": ((4, 3), (4,), {"label_smoothing": -0.1}, "label_smoothing outside [0, 1] is not rejected"),
    "smoothing_above_one": ((4, 3), (4,), {"label_smoothing": 1.5}, "label_smoothing outside [0, 1] is not rejected"),
    "unknown_reduction": ((4, 3), (4,), {"reduction": "avg"}, "an unknown reduction is not rejected"),
    "logits_1d": ((3,), (1,), {}, "logits that are not 2-D [N, C] are not rejected"),
    "target_length": ((4, 3), (5,), {}, "a target whose length is not N is not rejected"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_invalid_arguments_raise_value_error(sub, case):
    """label_smoothing outside [0, 1], an unknown reduction, or mismatched shapes: ValueError"""
    logits_shape, target_shape, opts, mistake = ERRORS[case]
    logits = randn(*logits_shape, seed=40)
    target = torch.zeros(target_shape, dtype=torch.int64)
    shown = "".join(f", {k}={v!r}" for k, v in opts.items())
    call = f"cross_entropy_loss(logits {list(logits_shape)}, target {list(target_shape)}{shown})"
    try:
        expect_raises(ValueError, sub.cross_entropy_loss, logits, target, call=call, **opts)
    except Mistake as exc:
        fail(str(exc), diagnosis=f"{mistake}: raise ValueError." if "it returned" in str(exc) else "")
