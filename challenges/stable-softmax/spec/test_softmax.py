"""Specs for softmax, log_softmax and logsumexp: values and gradients against torch's own
ops in float64, large magnitudes, low precision, -inf entries and slices, the dim
argument, hygiene and errors."""

import math

import pytest
import torch
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from grader.spec import (
    check,
    check_close,
    describe,
    expect_raises,
    fail,
    lazy,
    public,
    randn,
    tolerance,
)

FUNCS = ("softmax", "log_softmax", "logsumexp")
F64 = torch.float64
NEG_INF = float("-inf")
LOW_PRECISION = (torch.float16, torch.bfloat16)


# ---------------------------------------------------------------- oracle and diagnosis


def torch_op(name, x, dim):
    """torch's own op (differentiable), the oracle."""
    return {"softmax": torch.softmax, "log_softmax": torch.log_softmax, "logsumexp": torch.logsumexp}[name](x, dim)


def oracle(name, x, dim=-1):
    """The expected result in float64; softmax of an all -inf slice is zeros (torch gives nan)."""
    out = torch_op(name, x.double(), dim)
    if name == "softmax":
        out = torch.where(torch.isnan(out), torch.zeros_like(out), out)
    return out


def magnitude_tolerance(x, kind="reduction"):
    """(rtol, atol) for results computed from x: the dtype's tolerance plus 4 ulps of the largest |x|.

    A correct float32 implementation that forms x − logsumexp(x) (or exp of it) rounds an
    intermediate of magnitude max|x|, so at |x| ≈ 1e4 it is ~1e-3 off in absolute terms.
    """
    rtol, atol = tolerance(x.dtype, kind)
    finite = x[torch.isfinite(x)]
    scale = float(finite.abs().max()) if finite.numel() else 0.0
    eps = torch.finfo(torch.promote_types(x.dtype, torch.float32)).eps
    return rtol, atol + 4 * eps * scale


def _close(a, b):
    return torch.allclose(a, b, rtol=1e-3, atol=1e-4, equal_nan=True)


def naive(name, x, dim, *, upcast=True):
    """The formula without the max shift (exp(x) directly), in float32 for float16/bfloat16
    inputs when ``upcast``, else in x's own dtype: the result of forgetting the shift."""
    y = x.float() if upcast and x.dtype in LOW_PRECISION else x
    e = torch.exp(y)
    if name == "softmax":
        return e / e.sum(dim=dim, keepdim=True)
    if name == "log_softmax":
        return y - torch.log(e.sum(dim=dim, keepdim=True))
    return torch.log(e.sum(dim=dim))


def _all_inf_slices(name, x, dim):
    """Where the result belongs to a slice of x that is all -inf (x's shape, or without dim for logsumexp)."""
    slices = (x == NEG_INF).all(dim=dim, keepdim=True)
    return slices.squeeze(dim) if name == "logsumexp" else slices.expand_as(x)


def _float32_values(g):
    """Whether every finite, nonzero value of g is exactly a float32 number (and there is one):
    the trace of a float64 input computed in float32 and cast back."""
    values = g[torch.isfinite(g) & (g != 0)]
    return values.numel() > 0 and torch.equal(values.float().double(), values)


def _log_of_underflowed_softmax(g, x, dim, expected, ungraded):
    """Whether g is log(softmax(x)): right where the softmax (in the compute dtype) is positive, and -inf, or
    one floor such as log(eps), where it underflows to 0 although the right log-probability is finite."""
    p = oracle("softmax", x, dim).to(torch.promote_types(x.dtype, torch.float32)).double()
    under = (p == 0) & torch.isfinite(expected) & ~ungraded
    if not under.any() or not torch.allclose(g[~under], expected[~under], rtol=1e-3, atol=1e-3, equal_nan=True):
        return False
    floor = g[under]
    return bool(torch.isneginf(floor).all()) or bool((floor == floor[0]).all() and (floor > expected[under]).all())


def diagnose(name, got, x, dim=-1):
    """The typical mistake the submission's result matches, in the learner's words, or ''.

    Each recogniser compares the result with what that mistake computes (the formula
    without the max shift, log of an underflowed softmax, the op along the last dim...)
    and answers only when the result matches the mistake and the mistake differs from the
    right answer. log_softmax of an all -inf slice is not graded, so it is left out.
    """
    if not hasattr(got, "shape"):
        return ""
    expected = oracle(name, x, dim)
    if got.shape != expected.shape:
        if name == "logsumexp" and got.dim() == expected.dim() + 1 and got.squeeze(dim).shape == expected.shape:
            return (
                "logsumexp keeps the reduced dimension (size 1): remove dim, as torch.logsumexp without keepdim does."
            )
        return ""
    if got.dtype != x.dtype:
        return (
            f"the result has dtype {str(got.dtype)[6:]}, not x's dtype {str(x.dtype)[6:]}: compute float16/bfloat16 "
            "in float32 (float64 stays float64) and cast it back with .to(x.dtype)."
        )
    g = got.double()
    if name == "log_softmax":  # an all -inf slice of log_softmax is not graded
        ungraded = _all_inf_slices(name, x, dim)
        g, expected = g.masked_fill(ungraded, 0.0), expected.masked_fill(ungraded, 0.0)
    masked = x == NEG_INF
    if name == "log_softmax":
        filled = g[masked & ~ungraded]
        if filled.numel() and torch.isfinite(filled).all() and (filled < -1e3).all():  # like -1e9 - log Σ
            return (
                "-inf entries are replaced by a finite number (like -1e9): a masked entry must keep "
                "log-probability -inf."
            )
    all_inf = _all_inf_slices(name, x, dim)
    if name != "log_softmax" and all_inf.any():
        if torch.isnan(g[all_inf]).all() and not torch.isnan(g[~all_inf]).any():
            return (
                "a slice that is all -inf has maximum -inf, and -inf − (-inf) is nan: shift such a slice by 0 "
                "instead, so that logsumexp gives -inf and softmax gives zeros."
            )
        n = x.shape[dim]
        uniform = torch.allclose(g[all_inf], torch.full_like(g[all_inf], 1.0 / n))
        if (name == "softmax" and uniform) or (
            name == "logsumexp" and torch.isfinite(g[all_inf]).all() and (g[all_inf] < -1e3).all()
        ):
            return (
                "-inf entries are replaced by a finite number (like -1e9): an all -inf slice then gets a finite "
                "logsumexp and uniform probabilities instead of -inf and zeros."
            )
    overflowed = ~torch.isfinite(g) & torch.isfinite(expected)
    if name == "log_softmax" and _log_of_underflowed_softmax(g, x, dim, expected, ungraded):
        return (
            "log_softmax is computed as log(softmax(x)): a probability that underflows to 0 gives log(0) = -inf "
            "(or log(eps) with an eps added); compute (x − m) − log Σ exp(x − m) instead."
        )
    if overflowed.any():
        if (~torch.isfinite(naive(name, x, dim)))[overflowed].all():
            return (
                "exp(x) overflows to inf (exp(89) in float32, exp(710) in float64) because the maximum is not "
                "subtracted first: subtract the maximum along dim before exp."
            )
        if x.dtype in LOW_PRECISION and (~torch.isfinite(naive(name, x, dim, upcast=False)))[overflowed].all():
            return (
                f"exp is taken in {str(x.dtype)[6:]} without the max shift, and exp(12) is already inf in float16: "
                "subtract the maximum along dim, and compute float16/bfloat16 in float32."
            )
        return ""
    if x.dtype == F64 and _float32_values(g):  # every value a float32 one: a float32 round trip
        return "a float64 input is computed in float32 (.float()): only float16/bfloat16 go up to float32."
    variants = []
    if dim % x.dim() != x.dim() - 1:
        variants.append((oracle(name, x, -1), f"the result is taken along the last dimension, not along dim={dim}."))
    if name == "logsumexp":
        shift = x.double().amax(dim=dim)
        shift = torch.where(torch.isfinite(shift), shift, torch.zeros_like(shift))
        variants.append((expected - shift, "logsumexp forgets to add the maximum back: return m + log Σ exp(x − m)."))
    if name == "log_softmax":
        m = x.double().amax(dim=dim, keepdim=True)
        variants.append((x.double() - m, "log_softmax returns x − m without − log Σ exp(x − m)."))
    for wrong, text in variants:
        if name == "log_softmax":
            wrong = wrong.masked_fill(ungraded, 0.0)
        if wrong.shape == g.shape and not _close(wrong, expected) and _close(g, wrong):
            return text
    return ""


def call(sub, name, x, dim=None):
    """Call sub.<name>(x) or sub.<name>(x, dim=dim)."""
    fn = getattr(sub, name)
    return fn(x) if dim is None else fn(x, dim=dim)


def check_op(sub, name, x, dim=None, *, device, kind="reduction", hint="", what="", expected=None, **kwargs):
    """Call ``name`` on x and compare with the float64 oracle cast to x's dtype."""
    __tracebackhide__ = True
    got = call(sub, name, x, dim)
    d = -1 if dim is None else dim
    want = oracle(name, x, d) if expected is None else expected
    label = f"{name}(x{'' if dim is None else f', dim={dim}'})"
    if "rtol" not in kwargs:
        kwargs["rtol"], kwargs["atol"] = magnitude_tolerance(x, kind)
    check_close(
        got,
        want.to(x.dtype),
        what=f"{what}{label}",
        kind=kind,
        inputs=describe(x=x),
        hint=hint,
        diagnosis=lazy(diagnose, name, got, x, d),
        device=device,
        **kwargs,
    )
    return got


# ---------------------------------------------------------------- values


@public
def test_hand_computed_example(sub, device):
    """[1, 2, 3]: softmax [0.0900, 0.2447, 0.6652], logsumexp 3.4076"""
    x = torch.tensor([1.0, 2.0, 3.0], dtype=F64)
    lse = math.log(math.e + math.e**2 + math.e**3)
    expected = {
        "softmax": torch.tensor([math.exp(v - lse) for v in (1, 2, 3)], dtype=F64),
        "log_softmax": torch.tensor([v - lse for v in (1, 2, 3)], dtype=F64),
        "logsumexp": torch.tensor(lse, dtype=F64),
    }
    for name in FUNCS:
        check_op(sub, name, x, device=device, expected=expected[name])


@public
def test_float16_does_not_overflow(sub, device):
    """float16 [10, 11, 12]: exp(12) = 162755 > 65504 overflows float16; results stay float16"""
    x = torch.tensor([[10.0, 11.0, 12.0], [-3.0, 0.5, 2.0]], dtype=torch.float16)
    for name in FUNCS:
        check_op(sub, name, x, device=device)


CASES = {
    "1d": ((7,), None),
    "2d_last": ((4, 9), -1),
    "3d_dim0": ((5, 3, 4), 0),
    "3d_dim1": ((2, 6, 5), 1),
    "4d_dim_neg2": ((2, 3, 4, 5), -2),
}


@pytest.mark.parametrize("case", list(CASES))
def test_matches_torch_along_any_dim(sub, device, case):
    """Values match torch's ops along the given dim, with any number of leading dimensions"""
    shape, dim = CASES[case]
    x = randn(*shape, seed=1, scale=3.0)
    for name in FUNCS:
        check_op(sub, name, x, dim, device=device, seed=1)


def test_large_magnitudes_stay_finite(sub, device):
    """float32 inputs of magnitude 1e4: exp(1e4) overflows, the results must not"""
    x = torch.tensor([[1e4, -1e4, 0.0, 9999.0], [-1e4, -9990.0, -1e4, -9999.0], [5e3, 1e4, 1e4, -5e3]])
    x = torch.cat([x, randn(4, 4, seed=3, scale=1e4)])
    for name in FUNCS:
        check_op(sub, name, x, device=device, what="with inputs of magnitude 1e4: ")


def test_float64_accuracy_near_1000(sub, device):
    """float64 inputs near 1000: float64 accuracy (a float32 round trip is 1e-5 off; exp(1000) overflows float64)"""
    x = randn(3, 8, seed=2, dtype=F64) + 1000.0
    for name in FUNCS:
        check_op(sub, name, x, device=device, seed=2)


@pytest.mark.parametrize("shift", [1000.0, -1000.0, 1e5])
def test_invariant_to_adding_a_constant(sub, device, shift):
    """softmax(x + c) = softmax(x), log_softmax(x + c) = log_softmax(x), logsumexp(x + c) = logsumexp(x) + c"""
    x = randn(4, 6, seed=4, dtype=F64)
    shifted = x + shift
    inputs = describe(x=x) + f", c={shift:g}"
    base = {name: oracle(name, x) for name in FUNCS}
    base["logsumexp"] = base["logsumexp"] + shift
    for name in FUNCS:
        got = call(sub, name, shifted)
        check_close(
            got,
            base[name],
            what=f"{name}(x + c)",
            kind="reduction",
            rtol=1e-7,
            atol=1e-6,
            inputs=inputs,
            hint="Adding a constant to every entry must not change the probabilities.",
            diagnosis=lazy(diagnose, name, got, shifted),
            device=device,
        )


def test_neg_inf_entries_get_zero_probability(sub, device):
    """An entry of -inf has probability exactly 0 and log-probability -inf; the rest renormalise"""
    x = torch.tensor([[0.5, NEG_INF, 2.0, NEG_INF], [NEG_INF, 1.0, NEG_INF, NEG_INF], [1.0, 2.0, 3.0, 4.0]])
    for name in FUNCS:
        check_op(sub, name, x, device=device, what="with -inf entries: ")
    p = call(sub, "softmax", x)
    check(
        hasattr(p, "shape") and (p[x == NEG_INF] == 0).all(),
        "softmax must give exactly 0 to -inf entries. Inputs: x float32[3, 4] with -inf entries.",
    )


@pytest.mark.parametrize("dim", [-1, 0])
def test_all_neg_inf_slice(sub, device, dim):
    """A slice that is all -inf: logsumexp -inf, softmax zeros (never nan); the other slices unaffected"""
    x = randn(3, 4, seed=5)
    if dim == -1:
        x[1] = NEG_INF
    else:
        x[:, 2] = NEG_INF
    x[0, 0] = NEG_INF
    what = "with an all -inf slice: "
    check_op(sub, "logsumexp", x, dim, device=device, what=what)
    p = check_op(sub, "softmax", x, dim, device=device, what=what)
    rows = (x == NEG_INF).all(dim=dim, keepdim=True).expand_as(x)
    check((p[rows] == 0).all(), f"softmax of an all -inf slice must be all zeros. Inputs: {describe(x=x)}, dim={dim}.")
    lsm = call(sub, "log_softmax", x, dim)  # the all -inf slice of log_softmax is not graded
    if hasattr(lsm, "shape") and lsm.shape == x.shape:
        lsm = torch.where(rows, torch.zeros_like(lsm), lsm)
    want = torch.where(rows, 0.0, oracle("log_softmax", x, dim))
    rtol, atol = magnitude_tolerance(x)
    check_close(
        lsm,
        want.float(),
        what=f"{what}log_softmax(x, dim={dim}) outside that slice",
        rtol=rtol,
        atol=atol,
        inputs=describe(x=x),
    )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_inputs(sub, device, dtype):
    """float16/bfloat16 in, the same dtype out, values up to ~25 (a float16 exp overflows above 11.1)"""
    x = (randn(3, 5, 16, seed=6, scale=4.0) + 12.0).to(dtype)
    for name in FUNCS:
        check_op(sub, name, x, device=device, seed=6)
        check_op(sub, name, x, 1, device=device, seed=6)


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
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    dim_index=st.integers(0, 7),
    negative=st.booleans(),
    scale=st.sampled_from([0.1, 1.0, 30.0, 1e4]),
    neg_inf=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_random_shapes_dims_and_scales(sub, shape, dim_index, negative, scale, neg_inf, seed):
    """Random shapes, dims (negative too), magnitudes up to 1e4 and -inf entries, against torch"""
    x = randn(*shape, seed=seed, scale=scale)
    if neg_inf:
        x = x.masked_fill(torch.rand(*shape, generator=torch.Generator().manual_seed(seed)) < 0.3, NEG_INF)
    dim = dim_index % len(shape) - (len(shape) if negative else 0)
    keep = (x > NEG_INF).any(dim=dim, keepdim=True).expand_as(x)  # slices log_softmax is graded on
    rtol, atol = magnitude_tolerance(x)
    for name in FUNCS:
        got = call(sub, name, x, dim)
        want = oracle(name, x, dim)
        inputs = describe(x=x) + f", dim={dim}"
        diagnosis = lazy(diagnose, name, got, x, dim)
        if name == "log_softmax" and hasattr(got, "shape") and got.shape == x.shape and not keep.all():
            got, want = torch.where(keep, got, 0.0), torch.where(keep, want, 0.0)
        check_close(
            got,
            want.float(),
            what=f"{name}(x, dim={dim})",
            rtol=rtol,
            atol=atol,
            inputs=inputs,
            seed=seed,
            diagnosis=diagnosis,
        )


# ---------------------------------------------------------------- gradients


@pytest.mark.parametrize("name", FUNCS)
def test_gradients_match_torch(sub, device, name):
    """Gradients w.r.t. x in float64 match torch's, along the last dim and along dim=1"""
    for shape, dim, seed in (((4, 7), -1, 30), ((3, 5, 4), 1, 31), ((2, 6), -1, 32)):
        x = randn(*shape, seed=seed, dtype=F64, scale=3.0)
        if seed == 32:
            x = x + 1000.0  # a naive exp overflows float64 here
        leaf = x.clone().requires_grad_(True)
        want = torch_op(name, leaf, dim)
        g = randn(*want.shape, seed=seed + 100, dtype=F64)
        want.backward(g)
        result = sub.grad_call(getattr(sub, name), x, wrt=[0], grad_outputs=g, dim=dim)
        inputs = describe(x=x) + f", dim={dim}"
        check_close(
            result.output,
            want.detach(),
            what=f"{name}(x, dim={dim})",
            kind="reduction",
            inputs=inputs,
            diagnosis=lazy(diagnose, name, result.output, x, dim),
            device=device,
        )
        grad = result.input_grads.get(0)
        if grad is None:
            fail(f"no gradient reached x in {name}: is the computation detached from it (.detach(), .item(), numpy)?")
        check_close(
            grad, leaf.grad, what=f"the gradient of {name}(x, dim={dim})", kind="grad", inputs=inputs, device=device
        )


# ---------------------------------------------------------------- hygiene and errors


def test_inputs_not_modified(sub):
    """x is left unchanged by all three functions"""
    x = randn(3, 5, seed=40, scale=5.0)
    for name in FUNCS:
        call(sub, name, x, 0)
        check(
            not sub.last_call.mutated,
            f"{name}(x, dim=0) changed x in place; x must be left unchanged. Inputs: {describe(x=x)}.",
            diagnosis="x is modified in place (an in-place op such as x.sub_(m) or x -= m): work on a new tensor.",
        )


@pytest.mark.parametrize("name", FUNCS)
def test_invalid_dim_raises_value_error(sub, name):
    """dim outside [-x.dim(), x.dim()) raises ValueError"""
    x = randn(2, 3, seed=41)
    for dim in (2, -3):
        expect_raises(ValueError, getattr(sub, name), x, dim=dim, call=f"{name}(x, dim={dim}) for x of shape [2, 3]")
