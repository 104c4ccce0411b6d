"""Specs for softmax_with_temperature: values against a float64 oracle written from the
definition, properties (rows sum to 1, shift invariance, sharpening as T falls), the
limits T = 0 and T = inf, -inf logits, large logits, dtypes, hygiene and errors."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from grader.spec import Mistake, check, check_close, describe, expect_raises, fail, lazy, public, tolerance

INF = float("inf")

# ---------------------------------------------------------------- oracle and diagnosis


def softmax(x, axis=-1):
    """Plain softmax in float64 with the maximum subtracted (-inf entries give 0)."""
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def oracle(logits, t):
    """softmax(logits / t) over the last axis in float64, with the limits t = 0 and t = inf."""
    x = np.asarray(logits, dtype=np.float64)
    if t == 0:
        out = np.zeros_like(x)
        np.put_along_axis(out, np.argmax(x, axis=-1)[..., None], 1.0, axis=-1)
        return out
    if math.isinf(t):
        allowed = (x > -np.inf).astype(np.float64)
        return allowed / allowed.sum(axis=-1, keepdims=True)
    return softmax(x / t)


def seeded(*shape, seed, scale=1.0):
    return np.random.default_rng(seed).standard_normal(shape) * scale


def naive(x, t):
    """softmax(x / t) without subtracting the row maximum: what forgetting the shift computes."""
    e = np.exp(x / t)
    return e / e.sum(axis=-1, keepdims=True)


def first_or_last_max(x, *, last):
    """The T = 0 one-hot at each row's last maximum (last=True), or shared by the tied maxima (last=False)."""
    top = x == x.max(axis=-1, keepdims=True)
    if not last:
        return top / top.sum(axis=-1, keepdims=True)
    flipped = np.flip(x, axis=-1)
    out = np.zeros_like(x)
    np.put_along_axis(out, x.shape[-1] - 1 - np.argmax(flipped, axis=-1)[..., None], 1.0, axis=-1)
    return out


def _variants(x, t):
    """Typical wrong answers for (x, t), each with the mistake it shows, in the learner's words."""
    with np.errstate(all="ignore"):
        if t == 0:
            yield first_or_last_max(x, last=True), "at T = 0 the 1 goes to the last maximum: it must go to the first."
            yield (
                first_or_last_max(x, last=False),
                "at T = 0 tied maxima share the probability: the 1 goes to the first maximum only (np.argmax).",
            )
            return
        if math.isinf(t):
            yield (
                np.full_like(x, 1.0 / x.shape[-1]),
                "at T = inf the -inf tokens get probability too: T = inf is uniform over the tokens whose logit "
                "is not -inf.",
            )
            return
        yield softmax(x), "the temperature is ignored: take the softmax of logits / T."
        yield softmax(x * t), "the logits are multiplied by T: divide them by T."
        yield softmax(x) / t, "the probabilities are divided by T after the softmax: divide the logits by T before it."
        if x.ndim >= 2:
            yield softmax(x / t, axis=0), "the softmax is taken over axis 0: normalise over the last axis."


def diagnose(got, x, t):
    """The likely mistake when ``got`` matches a known wrong answer (and not the right one), or ''."""
    dtype = getattr(got, "dtype", None)
    if isinstance(got, np.ndarray) and dtype != np.float64:
        kept = isinstance(x, np.ndarray) and x.dtype == dtype
        what = "the result keeps the input's dtype" if kept else "the result has dtype"
        return f"{what} {dtype}: convert the logits with np.asarray(logits, dtype=np.float64) and compute in float64."
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return ""
    x = np.asarray(x, dtype=np.float64)
    expected = oracle(x, t)
    if got.shape != expected.shape or np.allclose(got, expected, rtol=1e-6, atol=1e-9):
        return ""
    broken = ~np.isfinite(got) & np.isfinite(expected)
    if broken.any():
        if t == 0:
            return "T = 0 divides by zero: return a one-hot at each row's first maximum instead."
        if math.isinf(t) and broken[np.isneginf(x)].all():
            return (
                "at T = inf, -inf / inf is nan: handle T = inf on its own, uniform over the tokens whose logit "
                "is not -inf."
            )
        with np.errstate(all="ignore"):
            overflow = ~np.isfinite(naive(x, t))
        if not math.isinf(t) and overflow[broken].all():
            return (
                "exp(logits / T) overflows because each row's maximum is not subtracted first: subtract it "
                "before exp (softmax does not change)."
            )
        return ""
    for wrong, message in _variants(x, t):
        if not np.allclose(wrong, expected, rtol=1e-6, atol=1e-9) and np.allclose(got, wrong, rtol=1e-6, atol=1e-9):
            return message
    return ""


def check_softmax(sub, x, t, *, what="the result", seed=None, hint="", **kwargs):
    """Call the submission on (x, t) and compare with the oracle."""
    __tracebackhide__ = True
    got = sub.softmax_with_temperature(x, t)
    inputs = describe(logits=x, temperature=t)
    check_close(
        got, oracle(x, t), what=what, inputs=inputs, seed=seed, hint=hint, diagnosis=lazy(diagnose, got, x, t), **kwargs
    )
    return got


def expect_value_error(fn, *args, call, diagnosis):
    """``fn(*args)`` must raise ValueError; a Wrong Answer naming the call and ``diagnosis`` otherwise."""
    __tracebackhide__ = True
    try:
        expect_raises(ValueError, fn, *args, call=call)
    except Mistake as exc:
        fail(str(exc), diagnosis=diagnosis)


def entropy(p):
    p = np.asarray(p, dtype=np.float64)
    return float(-(p[p > 0] * np.log(p[p > 0])).sum())


# ---------------------------------------------------------------- values


@public
@pytest.mark.parametrize(
    "t, weights",
    [(0.5, [1, 4, 9]), (2.0, [1, math.sqrt(2), math.sqrt(3)])],
    ids=["T=0.5", "T=2"],
)
def test_hand_case(sub, t, weights):
    """logits = log([1, 2, 3]): exp(logits / T) = [1, 2, 3] ** (1 / T), so the answer is exact."""
    x = np.log([1.0, 2.0, 3.0])
    got = sub.softmax_with_temperature(x, t)
    expected = np.array(weights) / sum(weights)
    check_close(
        got,
        expected,
        what=f"softmax_with_temperature(log([1, 2, 3]), {t})",
        hint=f"exp(logits / T) = [1, 2, 3] ** (1 / T), normalised: expected {np.round(expected, 4).tolist()}.",
        diagnosis=lazy(diagnose, got, x, t),
    )


@pytest.mark.parametrize(
    "shape, t",
    [((7,), 0.3), ((3, 5), 1.0), ((3, 5), 2.5), ((2, 3, 4), 0.3)],
    ids=["7-T0.3", "3x5-T1", "3x5-T2.5", "2x3x4-T0.3"],
)
def test_matches_oracle(sub, shape, t):
    """Random logits of several shapes: softmax over the last axis of logits / T."""
    seed = sum(shape) * 10 + int(t * 10)
    check_softmax(sub, seeded(*shape, seed=seed, scale=3.0), t, seed=seed)


def test_temperature_one_is_plain_softmax(sub):
    """an int temperature 1 is the plain softmax"""
    x = seeded(4, 6, seed=11, scale=2.0)
    got = sub.softmax_with_temperature(x, 1)
    check_close(
        got,
        softmax(x),
        what="the result at temperature 1 (an int)",
        inputs=describe(logits=x),
        diagnosis=lazy(diagnose, got, x, 1.0),
    )


def test_batch_rows_are_independent(sub):
    """Each row of a [B, V] batch is the softmax of that row alone."""
    x = seeded(5, 4, seed=13, scale=2.0)
    batch = sub.softmax_with_temperature(x, 0.7)
    check_close(
        batch,
        oracle(x, 0.7),
        what="the batched result",
        inputs=describe(logits=x),
        diagnosis=lazy(diagnose, batch, x, 0.7),
    )
    for i in (0, 3):
        row = sub.softmax_with_temperature(x[i], 0.7)
        check_close(
            batch[i], row, what=f"row {i} of the batch against the same row passed alone", rtol=1e-9, atol=1e-12
        )


def test_list_input(sub):
    """A nested Python list (ints and floats) works like the array it stands for."""
    x = [[1, 2, 3, 4], [0.5, -1.0, 2.0, 0.0]]
    got = check_softmax(sub, x, 0.8, what="the result for a nested list")
    check(isinstance(got, np.ndarray), "the result should be a numpy array")


@pytest.mark.parametrize("dtype", ["float32", "int64"])
def test_output_is_float64(sub, dtype):
    """The result is float64 whatever the input's dtype."""
    x = seeded(3, 5, seed=14, scale=3.0).astype(dtype)
    got = sub.softmax_with_temperature(x, 1.5)
    got_dtype = getattr(got, "dtype", None)
    check(
        got_dtype is None or str(got_dtype) == "float64",
        f"the result for a {dtype} input has dtype {got_dtype}, expected float64. "
        f"Inputs: {describe(logits=x, temperature=1.5)}.",
        diagnosis=lazy(diagnose, got, x, 1.5),
    )
    rtol, atol = tolerance("float32")
    inputs = describe(logits=x, temperature=1.5)
    check_close(
        got,
        oracle(x, 1.5),
        what=f"the result for a {dtype} input",
        inputs=inputs,
        rtol=rtol,
        atol=atol,
        diagnosis=lazy(diagnose, got, x, 1.5),
    )


# ---------------------------------------------------------------- properties

SETTINGS = settings(derandomize=True, max_examples=25, deadline=None, database=None)


@SETTINGS
@given(
    rows=st.integers(1, 4),
    vocab=st.integers(1, 9),
    seed=st.integers(0, 10_000),
    scale=st.sampled_from([0.1, 1.0, 10.0, 100.0]),
    t=st.sampled_from([0.05, 0.3, 1.0, 2.0, 7.5, 100.0]),
)
def test_rows_sum_to_one(sub, rows, vocab, seed, scale, t):
    """random rows: the oracle's values, summing to 1"""
    x = seeded(rows, vocab, seed=seed, scale=scale)
    got = sub.softmax_with_temperature(x, t)
    inputs = describe(logits=x, temperature=t)
    check_close(got, oracle(x, t), inputs=inputs, seed=seed, diagnosis=lazy(diagnose, got, x, t))
    check(np.all(got >= 0), f"probabilities must be >= 0. Inputs: {inputs}.")
    check_close(got.sum(axis=-1), np.ones(rows), what="the row sums", inputs=inputs, seed=seed)


@SETTINGS
@given(seed=st.integers(0, 10_000), shift=st.sampled_from([-500.0, 3.0, 1000.0]), t=st.sampled_from([0.1, 1.0, 4.0]))
def test_adding_a_constant_changes_nothing(sub, seed, shift, t):
    """softmax((x + c) / T) = softmax(x / T): each row may get its own constant."""
    x = seeded(3, 6, seed=seed, scale=2.0)
    shifts = shift * np.arange(1, 4)[:, None]  # (3, 1): a different constant per row
    base = sub.softmax_with_temperature(x, t)
    moved = sub.softmax_with_temperature(x + shifts, t)
    check_close(
        moved,
        base,
        what="the result after adding a constant to each row",
        inputs=describe(logits=x, shift=shift, temperature=t),
        seed=seed,
        rtol=1e-7,
        atol=1e-9,
        hint="Softmax is invariant to adding a constant to a row's logits.",
        diagnosis=lazy(diagnose, moved, x + shifts, t),
    )


def test_lower_temperature_is_sharper(sub):
    """As T falls the top token's probability rises and the entropy falls (strictly)."""
    x = np.array([1.0, 0.5, -0.3, 2.0, 0.0])
    temps = [10.0, 3.0, 1.0, 0.5, 0.2, 0.05]
    dists = [sub.softmax_with_temperature(x, t) for t in temps]
    tops = [float(np.max(p)) for p in dists]
    ents = [entropy(p) for p in dists]
    for i in range(len(temps) - 1):
        a, b = temps[i], temps[i + 1]
        check(
            tops[i + 1] > tops[i],
            f"lowering the temperature from {a} to {b} should raise the top probability, but it went "
            f"from {tops[i]:.4g} to {tops[i + 1]:.4g} (logits {x.tolist()}). Are you dividing by T?",
        )
        check(
            ents[i + 1] < ents[i],
            f"lowering the temperature from {a} to {b} should lower the entropy, but it went "
            f"from {ents[i]:.4g} to {ents[i + 1]:.4g} (logits {x.tolist()}).",
        )


# ---------------------------------------------------------------- stability


@pytest.mark.parametrize("t", [1e-3, 1.0, 1e3], ids=lambda t: f"T={t:g}")
def test_large_logits_stay_finite(sub, t):
    """Logits of magnitude 1e4 (both signs): exp must not overflow or give 0/0."""
    x = seeded(4, 6, seed=21, scale=1e4)
    got = sub.softmax_with_temperature(x, t)
    inputs = describe(logits=x, temperature=t)
    g = np.asarray(got, dtype=np.float64) if isinstance(got, np.ndarray) else None
    if g is not None and g.shape == x.shape and not np.isfinite(g).all():
        fail(
            f"the result has nan or inf for logits of magnitude 1e4. Inputs: {inputs}.",
            diagnosis=lazy(diagnose, got, x, t),
        )
    check_close(got, oracle(x, t), inputs=inputs, seed=21, diagnosis=lazy(diagnose, got, x, t))


def test_near_tie_at_tiny_temperature(sub):
    """[1e4, 1e4 - 1e-3, -1e4] at T = 1e-3: the scaled gap is exactly 1, so [σ(1), σ(-1), 0]."""
    x = np.array([1e4, 1e4 - 1e-3, -1e4])
    got = sub.softmax_with_temperature(x, 1e-3)
    expected = np.array([1 / (1 + math.exp(-1)), 1 / (1 + math.exp(1)), 0.0])
    check_close(
        got,
        expected,
        rtol=1e-6,
        atol=1e-9,
        inputs="logits [1e4, 1e4 - 1e-3, -1e4], temperature=0.001",
        diagnosis=lazy(diagnose, got, x, 1e-3),
    )


# ---------------------------------------------------------------- limits and -inf


@public
@pytest.mark.parametrize("t", [0, 0.0], ids=["int 0", "float 0.0"])
def test_temperature_zero_is_one_hot_at_first_maximum(sub, t):
    """T = 0 is greedy: 1 at each row's first maximum, 0 elsewhere."""
    x = np.array([[0.5, 2.0, -1.0, 2.0], [3.0, 3.0, 3.0, 1.0], [-2.0, -5.0, -1.0, -1.5]])
    got = sub.softmax_with_temperature(x, t)
    check_close(
        got,
        oracle(x, 0),
        what=f"the result at temperature {t!r}",
        inputs="logits [[0.5, 2, -1, 2], [3, 3, 3, 1], [-2, -5, -1, -1.5]] (rows 0 and 1 have tied maxima)",
        diagnosis=lazy(diagnose, got, x, t),
        rtol=0,
        atol=0,
    )


def test_temperature_zero_on_3d_batch(sub):
    x = np.round(seeded(2, 3, 5, seed=31), 0)  # rounding makes ties likely
    check_softmax(sub, x, 0.0, what="the one-hot result for a [2, 3, 5] batch", rtol=0, atol=0)


def test_infinite_temperature_is_uniform(sub):
    x = seeded(3, 5, seed=32, scale=5.0)
    check_softmax(
        sub,
        x,
        INF,
        what="the result at temperature inf",
        hint="T = inf is the limit T -> inf: every token gets 1 / V.",
    )


@pytest.mark.parametrize("t", [0.5, 1.0, 0.0], ids=lambda t: f"T={t:g}")
def test_minus_inf_logits_get_zero(sub, t):
    """-inf logits (banned tokens) get probability exactly 0; the rest renormalise."""
    x = np.array([[1.0, -INF, 0.5, 2.0], [-INF, -INF, -3.0, -4.0], [0.0, 0.0, -INF, 0.0]])
    got = check_softmax(sub, x, t)
    check(
        np.all(np.asarray(got)[np.isinf(x)] == 0.0),
        f"tokens with logit -inf must get probability exactly 0. Inputs: {describe(logits=x, temperature=t)}.",
    )


def test_minus_inf_logits_at_infinite_temperature(sub):
    """T = inf: uniform over the tokens whose logit is not -inf; -inf tokens stay at 0."""
    x = np.array([[1.0, -INF, 0.5, 2.0], [-INF, -INF, -3.0, -4.0]])
    check_softmax(
        sub,
        x,
        INF,
        what="the result at temperature inf with -inf logits",
    )


# ---------------------------------------------------------------- errors and hygiene


@public
@pytest.mark.parametrize("t", [-0.5, -INF, float("nan")], ids=["-0.5", "-inf", "nan"])
def test_invalid_temperature_raises(sub, t):
    """A negative (also -inf) or nan temperature raises ValueError."""
    if math.isnan(t):
        mistake = "a nan temperature is accepted (t < 0 is False for nan): check math.isnan(t) too."
    else:
        mistake = "a negative temperature is accepted: raise ValueError when t < 0."
    expect_value_error(
        sub.softmax_with_temperature,
        [1.0, 2.0, 3.0],
        t,
        call=f"softmax_with_temperature([1.0, 2.0, 3.0], {t})",
        diagnosis=mistake,
    )


def test_all_minus_inf_row_raises(sub):
    """A row with no allowed token has no distribution: ValueError (also inside a batch), at any T."""
    x = np.array([[0.0, 1.0, 2.0], [-INF, -INF, -INF]])
    for t in (1.0, 0.0):
        expect_value_error(
            sub.softmax_with_temperature,
            x,
            t,
            call=f"softmax_with_temperature([[0, 1, 2], [-inf, -inf, -inf]], {t})",
            diagnosis="a row whose logits are all -inf is not rejected: raise ValueError (no token can get probability).",
        )


@pytest.mark.parametrize("t", [0.5, 0.0], ids=["T=0.5", "T=0"])
def test_input_not_modified(sub, t):
    """the logits are left unchanged"""
    x = seeded(3, 4, seed=41, scale=2.0)
    sub.softmax_with_temperature(x, t)
    check(
        not sub.last_call.mutated,
        f"softmax_with_temperature(logits, {t}) changed the logits array in place. "
        f"Inputs: {describe(logits=x, temperature=t)}.",
        diagnosis="the logits array is modified in place (x -= ..., x /= T): work on a copy (np.array(logits)).",
    )
