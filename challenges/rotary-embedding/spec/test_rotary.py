"""Specs for apply_rotary: values and gradients against a from-scratch float64 oracle (each pair as a
complex number multiplied by e^{iθ}), the relative-position property, dtypes, hygiene and the ValueErrors."""

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.spec import (
    check,
    check_close,
    check_unchanged_inputs,
    describe,
    diagnosing,
    expect_raises,
    lazy,
    public,
    randn,
)

F64 = torch.float64
F32 = torch.float32

# ---------------------------------------------------------------- the oracle and its variants


def rotate(x, theta):
    """x [..., L, d] with pair i of row t rotated by theta[t, i] (as complex numbers), float64."""
    x = x.double()
    z = torch.complex(x[..., 0::2], x[..., 1::2]) * torch.polar(torch.ones_like(theta), theta)
    return torch.stack([z.real, z.imag], dim=-1).flatten(-2)


def angles(positions, d, base, *, exponent_sign=-1.0, index_step=2):
    """θ[t, i] = positions[t] · base^(∓ index_step·i / d), float64, [L, d/2]."""
    i = torch.arange(d // 2, dtype=F64)
    return positions.double()[:, None] * torch.pow(
        torch.tensor(float(base), dtype=F64), exponent_sign * index_step * i / d
    )


def oracle(x, positions, base=10000.0):
    return rotate(x, angles(positions, x.shape[-1], base))


def rotate_half(x, positions, base):
    """GPT-NeoX/Llama layout: feature i paired with feature i + d/2."""
    x = x.double()
    d = x.shape[-1]
    h = d // 2
    theta = angles(positions, d, base)
    cos, sin = torch.cos(theta), torch.sin(theta)
    a, b = x[..., :h], x[..., h:]
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


MISTAKES = {
    "rotate_half": (
        "It matches the rotate-half layout (GPT-NeoX/Llama: feature i paired with feature i + d/2): here the pairs "
        "are interleaved, (x[2i], x[2i+1]), i.e. x[..., 0::2] and x[..., 1::2].",
        rotate_half,
    ),
    "sign_flipped": (
        "It matches the rotation in the other direction (angle sign flipped, clockwise): out[2i] = x[2i] cos θ − "
        "x[2i+1] sin θ and out[2i+1] = x[2i] sin θ + x[2i+1] cos θ.",
        lambda x, p, b: rotate(x, -angles(p, x.shape[-1], b)),
    ),
    "positive_exponent": (
        "It matches a positive exponent, base^(+2i/d): the frequencies must fall with i, θ = position · base^(−2i/d).",
        lambda x, p, b: rotate(x, angles(p, x.shape[-1], b, exponent_sign=1.0)),
    ),
    "index_not_doubled": (
        "It matches the exponent i/d instead of 2i/d (the pair index not doubled): θ = position · base^(−2i/d) "
        "for pair i.",
        lambda x, p, b: rotate(x, angles(p, x.shape[-1], b, index_step=1)),
    ),
    "positions_ignored": (
        "It matches positions ignored (0, 1, …, L − 1 used instead of the positions passed in): rotate row t by "
        "positions[t].",
        lambda x, p, b: oracle(x, torch.arange(x.shape[-2], dtype=F64), b),
    ),
    "positions_truncated": (
        "It matches the positions rounded to integers: fractional positions are allowed, keep them as floats "
        "(positions.to(float) before multiplying).",
        lambda x, p, b: oracle(x, p.double().trunc(), b),
    ),
    "cos_sin_swapped": (
        "It matches cos and sin swapped: out[2i] = x[2i] cos θ − x[2i+1] sin θ, out[2i+1] = x[2i] sin θ + "
        "x[2i+1] cos θ.",
        lambda x, p, b: _cos_sin_swapped(x, p, b),
    ),
    "halves_concatenated": (
        "It matches the output written as [all even outputs, all odd outputs] (torch.cat) instead of interleaved "
        "back: put out[2i] and out[2i+1] side by side again (torch.stack([...], dim=-1).flatten(-2)).",
        lambda x, p, b: _concatenated(x, p, b),
    ),
}


def _cos_sin_swapped(x, positions, base):
    x = x.double()
    theta = angles(positions, x.shape[-1], base)
    cos, sin = torch.cos(theta), torch.sin(theta)
    e, o = x[..., 0::2], x[..., 1::2]
    return torch.stack([e * sin - o * cos, e * cos + o * sin], dim=-1).flatten(-2)


def _concatenated(x, positions, base):
    out = oracle(x, positions, base)
    return torch.cat([out[..., 0::2], out[..., 1::2]], dim=-1)


def _near(a, b):
    return (
        hasattr(a, "shape") and tuple(a.shape) == tuple(b.shape) and torch.allclose(a.double(), b, rtol=1e-3, atol=1e-3)
    )


def dtype_mistake(got, want):
    if not hasattr(got, "dtype") or got.dtype == want:
        return ""
    if got.dtype == F32 and want == F64:
        return (
            "float64 inputs give float32 results: a float32 tensor is created somewhere (torch.arange(...).float(), "
            "torch.tensor(...)): return the result in x's dtype (.to(x.dtype)) and compute float64 in float64."
        )
    return f"The result must have x's dtype ({want}), got {got.dtype}: return out.to(x.dtype)."


def diagnose(got, x, positions, base=10000.0):
    """The typical mistake the result matches, in the learner's words, or ''."""
    why = dtype_mistake(got, x.dtype)
    if why:
        return why
    want = oracle(x, positions, base)
    for message, variant in MISTAKES.values():
        wrong = variant(x, positions, base)
        if _near(wrong, want):
            continue  # this case cannot tell the mistake apart
        if _near(got, wrong):
            return message
    if _near(got, x.double()):
        return "The result equals x: no rotation is applied (did you return x, or multiply by the angle 0?)."
    return ""


# ---------------------------------------------------------------- calling the submission


def check_result(sub, x, positions, base=None, *, device, seed=None, what=None, kind="elementwise"):
    """Call apply_rotary and compare with the oracle at the tolerance of x's dtype."""
    __tracebackhide__ = True
    args = (x, positions) if base is None else (x, positions, base)
    b = 10000.0 if base is None else base
    what = what or (f"apply_rotary(x {list(x.shape)}, positions" + ("" if base is None else f", base={base}") + ")")
    got = sub.apply_rotary(*args)
    check_close(
        got,
        oracle(x, positions, b),
        what=what,
        kind=kind,
        dtype=x.dtype,
        inputs=describe(x=x, positions=positions) + ("" if base is None else f", base={base}"),
        seed=seed,
        device=device,
        diagnosis=lazy(diagnose, got, x, positions, b),
    )
    return got


# ---------------------------------------------------------------- values

EXAMPLE_X = torch.tensor([[1.0, 0.0, 1.0, 0.0], [1.0, 0.0, 1.0, 0.0], [0.0, 2.0, 0.5, -1.0]], dtype=F64)


@public
def test_prompt_example(sub, device):
    """The prompt's example: x [3, 4] at positions 0, 1, 2, base 10000"""
    got = check_result(sub, EXAMPLE_X, torch.arange(3), device=device, what="apply_rotary on the example")
    hand = torch.tensor([[1.0, 0.0, 1.0, 0.0], [0.5403, 0.8415, 0.9999, 0.0100], [-1.8186, -0.8323, 0.5199, -0.9898]])
    check_close(
        got,
        hand.double(),
        what="apply_rotary on the example (to 4 decimals)",
        atol=1e-4,
        rtol=0,
        diagnosis=lazy(diagnose, got, EXAMPLE_X, torch.arange(3)),
    )


@public
def test_batched_heads(sub, device):
    """x [2, 3, 5, 8] ([B, H, L, d]) at positions 3..7, float64"""
    x = randn(2, 3, 5, 8, seed=1, dtype=F64)
    check_result(sub, x, torch.arange(3, 8), device=device, seed=1)


@pytest.mark.parametrize(
    "shape", [(1, 2), (6, 2), (4, 6), (2, 7, 16), (3, 1, 10)], ids=["L1_d2", "d2", "L4_d6", "3d", "L1"]
)
def test_shapes(sub, device, shape):
    """[L, d], [B, L, d], d = 2, L = 1, random x and positions"""
    x = randn(*shape, seed=sum(shape), dtype=F64)
    L = shape[-2]
    positions = torch.arange(L) * 3 + 2
    check_result(sub, x, positions, device=device, seed=sum(shape))


@pytest.mark.parametrize("base", [100.0, 10.0, 500000.0, 1.5])
def test_other_bases(sub, device, base):
    """Other bases (10, 100, Llama 3's 500000, 1.5)"""
    x = randn(2, 4, 8, seed=int(base) % 97, dtype=F64)
    check_result(sub, x, torch.tensor([0, 2, 5, 9]), base, device=device, seed=int(base) % 97)


@pytest.mark.parametrize(
    "positions",
    [
        torch.tensor([0.5, 1.25, 2.0, 7.75]),
        torch.tensor([9, 0, 4, 4]),
        torch.tensor([3.0, 3.0, 3.0, 3.0], dtype=F64),
        torch.tensor([-2, -1, 0, 1]),
    ],
    ids=["fractional_float32", "unordered_repeated_int", "all_equal_float64", "negative"],
)
def test_positions(sub, device, positions):
    """Integer and floating positions, fractional, unordered, repeated and negative ones"""
    x = randn(3, 4, 6, seed=20, dtype=F64)
    check_result(sub, x, positions, device=device, seed=20)


def test_float32_up_to_255(sub, device):
    """float32 x [2, 256, 64] at positions 0..255: float32 result within float32 tolerance (the row for models: angles
    near 255 carry float32 rounding)"""
    x = randn(2, 256, 64, seed=30, dtype=F32)
    check_result(sub, x, torch.arange(256), device=device, seed=30, kind="model")


def test_float32_fractional(sub, device):
    """float32 x with random fractional float32 positions in [0, 255)"""
    x = randn(3, 40, 16, seed=31, dtype=F32)
    positions = torch.rand(40, generator=torch.Generator().manual_seed(31)) * 255
    check_result(sub, x, positions, device=device, seed=31, kind="model")


@settings(
    derandomize=True,
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    report_multiple_bugs=False,
)
@given(
    batch=st.integers(1, 3),
    L=st.integers(1, 6),
    half_d=st.integers(1, 6),
    seed=st.integers(0, 10_000),
    base=st.sampled_from([10000.0, 100.0, 2.0]),
)
def test_random(sub, batch, L, half_d, seed, base):
    """Random sizes, positions and bases, float64"""
    x = randn(batch, L, 2 * half_d, seed=seed, dtype=F64)
    positions = torch.rand(L, generator=torch.Generator().manual_seed(seed), dtype=F64) * 50
    check_result(sub, x, positions, base, device="cpu", seed=seed)


# ---------------------------------------------------------------- properties


def test_relative_position_dot_product(sub, device):
    """<R(m) q, R(n) k> depends only on m − n: (3, 1), (10, 8), (100, 98) give one score"""
    q, k = randn(8, seed=40, dtype=F64), randn(8, seed=41, dtype=F64)
    pairs = [(3, 1), (10, 8), (100, 98), (7.5, 5.5)]
    want = float((oracle(q[None], torch.tensor([3.0])) * oracle(k[None], torch.tensor([1.0]))).sum())
    for m, n in pairs:
        x = torch.stack([q, k])  # [L=2, d=8]
        positions = torch.tensor([m, n], dtype=F64)
        got = sub.apply_rotary(x, positions)
        score = got[0].double() @ got[1].double()
        check_close(
            score,
            torch.tensor(want, dtype=F64),
            what=f"the dot product of the two rows of apply_rotary(stack([q, k]), positions [{m}, {n}])",
            inputs=describe(q=q, k=k),
            diagnosis=lazy(diagnose, got, x, positions),
            hint="Rotating q by mθ and k by nθ makes their dot product depend only on (m − n)θ.",
        )


def test_norms_kept(sub, device):
    """Every pair keeps its length (a rotation), at positions up to 200"""
    x = randn(5, 12, seed=50, dtype=F64)
    positions = torch.tensor([0.0, 1.0, 17.0, 99.5, 200.0], dtype=F64)
    got = sub.apply_rotary(x, positions)
    check_close(
        got.double().reshape(5, 6, 2).norm(dim=-1),
        x.reshape(5, 6, 2).norm(dim=-1),
        what="the length of each pair (x[2i], x[2i+1]) after apply_rotary",
        inputs=describe(x=x, positions=positions),
        diagnosis=lazy(diagnose, got, x, positions),
    )


# ---------------------------------------------------------------- gradients


def test_gradient(sub, device):
    """The gradient w.r.t. x is the upstream gradient rotated back (float64)"""
    x = randn(2, 5, 6, seed=60, dtype=F64)
    positions = torch.tensor([0.0, 1.5, 3.0, 10.0, 40.0], dtype=F64)
    g = randn(2, 5, 6, seed=61, dtype=F64)
    with diagnosing(lazy(modifies_inputs, sub)):
        result = sub.grad_call(sub.apply_rotary, x, positions, wrt=[0], grad_outputs=g)
    leaf = x.clone().requires_grad_(True)
    (want,) = torch.autograd.grad(oracle(leaf, positions), leaf, g)
    got = result.input_grads.get(0)
    check(got is not None, "no gradient reached x: is the computation detached (.detach(), .item(), torch.no_grad)?")
    check_close(
        got,
        want,
        what="the gradient of x",
        kind="grad",
        inputs=describe(x=x, positions=positions),
        device=device,
        seed=60,
        diagnosis=lazy(diagnose, result.output, x, positions),
    )


# ---------------------------------------------------------------- hygiene


def test_dtype_device_shape(sub, device):
    """float32 x with int64 positions gives float32; float64 x with float32 positions gives float64"""
    for dtype, pos in ((F32, torch.arange(4)), (F64, torch.arange(4, dtype=F32))):
        x = randn(2, 4, 6, seed=70, dtype=dtype)
        got = sub.apply_rotary(x, pos)
        check_close(
            got,
            oracle(x, pos),
            what=f"apply_rotary(x {dtype} [2, 4, 6], positions {pos.dtype})",
            kind="model",
            dtype=dtype,
            device=device,
            diagnosis=lazy(diagnose, got, x, pos),
        )


def modifies_inputs(sub):
    sub.apply_rotary(randn(3, 4, seed=80, dtype=F64), torch.arange(3))
    if sub.last_call.mutated:
        return "x is modified in place (x[..., 0::2] = ..., mul_): build the result in a new tensor."
    return ""


def test_inputs_unchanged(sub, device):
    """apply_rotary does not modify x or positions in place"""
    sub.apply_rotary(randn(2, 3, 4, seed=81, dtype=F64), torch.tensor([1.0, 2.0, 3.0], dtype=F64))
    with diagnosing(lazy(modifies_inputs, sub)):
        check_unchanged_inputs(sub, ["x", "positions"])


# ---------------------------------------------------------------- errors

BAD = {
    "odd_d": ((3, 5), (3,), 10000.0, "an odd d (x [3, 5])"),
    "d1": ((4, 1), (4,), 10000.0, "d = 1"),
    "x_1d": ((6,), (1,), 10000.0, "x with 1 dimension"),
    "positions_short": ((2, 4, 6), (3,), 10000.0, "positions of length 3 for L = 4"),
    "positions_2d": ((4, 6), (1, 4), 10000.0, "positions [1, 4]"),
    "positions_long": ((4, 6), (8,), 10000.0, "positions of length 8 for L = 4"),
    "base_zero": ((4, 6), (4,), 0.0, "base = 0"),
    "base_negative": ((4, 6), (4,), -10000.0, "base < 0"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_value_errors(sub, case):
    """Odd d, x with fewer than 2 dims, positions not [L], base <= 0 -> ValueError"""
    x_shape, p_shape, base, words = BAD[case]
    x = randn(*x_shape, seed=90, dtype=F64)
    positions = torch.arange(math.prod(p_shape)).reshape(p_shape)
    diagnosis = {
        "odd_d": "An odd d is not rejected: pairs need an even d; raise ValueError when d % 2 != 0.",
        "d1": "An odd d is not rejected: pairs need an even d; raise ValueError when d % 2 != 0.",
        "x_1d": "x with fewer than 2 dimensions is not rejected: x must be [..., L, d]; raise ValueError.",
        "base_zero": "base <= 0 is not rejected: raise ValueError unless base > 0.",
        "base_negative": "base <= 0 is not rejected: raise ValueError unless base > 0.",
    }.get(
        case,
        "positions that are not [L] are not checked: raise ValueError unless positions.shape == (x.shape[-2],) "
        "(a broadcast can silently hide a wrong shape).",
    )
    expect_raises(
        ValueError,
        sub.apply_rotary,
        x,
        positions,
        base,
        call=f"apply_rotary(x {list(x_shape)}, positions {list(p_shape)}, base={base}) ({words})",
        diagnosis=diagnosis,
    )
