"""Specs for fit_power_law, fit_power_law_offset and compute_optimal: exact recovery on
noise-free data, log-log least squares on noisy data (within 5 standard errors of the true
exponent, and equal to the least-squares line computed here), the offset law to 1e-6
relative on Chinchilla-like cases, 6·N·D = flops, errors, result types and hygiene."""

import math

import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from grader.spec import Mistake, check, check_unchanged_inputs, describe_value, expect_raises, fail, lazy, public

SETTINGS = settings(
    derandomize=True,
    max_examples=25,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    report_multiple_bugs=False,
)

# ---------------------------------------------------------------- oracles


def ols_loglog(x, y):
    """(a, alpha, se_slope_per_sigma, se_intercept_per_sigma) of the log-log least-squares line."""
    t = np.log(np.asarray(x, dtype=np.float64))
    s = np.log(np.asarray(y, dtype=np.float64))
    dt = t - t.mean()
    sxx = float(dt @ dt)
    slope = float(dt @ (s - s.mean())) / sxx
    intercept = float(s.mean()) - slope * float(t.mean())
    return math.exp(intercept), -slope, 1.0 / math.sqrt(sxx), math.sqrt(1.0 / len(t) + float(t.mean()) ** 2 / sxx)


def linear_space_fit(x, y, start):
    """(a, alpha) minimising Σ(y − a·x^(−alpha))², by Gauss-Newton from ``start`` (what curve_fit does)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    a, alpha = start
    for _ in range(100):
        p = x ** (-alpha)
        jac = np.stack([p, -a * p * np.log(x)], axis=1)
        step, *_ = np.linalg.lstsq(jac, y - a * p, rcond=None)
        a, alpha = a + float(step[0]), alpha + float(step[1])
    return a, alpha


def offset_profile(x, y, c):
    """(a, alpha, misfit) of the log-log line through (x, y − c): the misfit is 0 only at the true c."""
    a, alpha, _, _ = ols_loglog(x, np.asarray(y, dtype=np.float64) - c)
    t, s = np.log(np.asarray(x, dtype=np.float64)), np.log(np.asarray(y, dtype=np.float64) - c)
    r = s - (math.log(a) - alpha * t)
    return a, alpha, float(r @ r)


def law(x, a, alpha, c=0.0):
    return a * np.asarray(x, dtype=np.float64) ** (-alpha) + c


def rel_err(got, want):
    return abs(got - want) / abs(want)


# ---------------------------------------------------------------- result checks


def as_params(got, names, call):
    """The result as a tuple of Python floats (fails with a clear message otherwise)."""
    __tracebackhide__ = True
    n = len(names)
    check(
        isinstance(got, tuple),
        f"{call} should return a tuple ({', '.join(names)}), but it returned "
        f"{f'a numpy array of shape {list(got.shape)}' if isinstance(got, np.ndarray) else describe_value(got)}.",
        diagnosis="a numpy array is returned: return a tuple of Python floats, e.g. (float(a), float(alpha))."
        if isinstance(got, np.ndarray)
        else "",
    )
    check(len(got) == n, f"{call} should return a tuple of {n} numbers ({', '.join(names)}), got {len(got)} items.")
    for name, value in zip(names, got):
        ok = isinstance(value, (float, np.floating)) and not isinstance(value, bool)
        check(
            ok,
            f"{call}: {name} should be a Python float (or a numpy float scalar), but it is "
            f"{describe_value(value)}. Convert with float(...).",
            diagnosis=f"{name} is returned as a numpy array, not a float: convert it with float(...)."
            if isinstance(value, np.ndarray)
            else "",
        )
    return tuple(float(v) for v in got)


def check_params(got, want, names, *, call, rtol, hint="", show_expected=False, diagnosis=""):
    """Each returned parameter within ``rtol`` relative of the expected one (``diagnosis``: the
    mistake recognised, see `fail`)."""
    __tracebackhide__ = True
    bad = []
    for name, g, w in zip(names, got, want):
        err = rel_err(g, w) if math.isfinite(g) else math.inf
        if not err <= rtol:
            extra = f"expected {w:.10g}, " if show_expected else ""
            bad.append(f"{name}: {extra}got {g:.10g} (relative error {err:.3g})")
    if bad:
        fail(
            f"{call} is off: {'; '.join(bad)}; tolerance {rtol:g} relative.{' ' + hint if hint else ''}",
            diagnosis=diagnosis,
        )


def power_diagnosis(got, a, alpha, x=None, y=None):
    """The mistake, when (a, alpha) came back as a typical wrong answer for the law (a, alpha);
    with the data (x, y), also a least-squares fit in linear space."""
    ga, galpha = got
    close = lambda u, v: math.isfinite(u) and abs(u - v) <= 1e-6 * max(abs(v), 1e-12)  # noqa: E731
    found = []
    ln_a = math.log(a)
    if close(ga, math.exp(-alpha)) and close(galpha, -ln_a) and not (close(ga, a) and close(galpha, alpha)):
        found.append(
            "a and alpha come from swapped coefficients: np.polyfit(t, s, 1) returns the slope first "
            "([slope, intercept]), so slope, intercept = np.polyfit(...)."
        )
    elif alpha != 0 and close(galpha, -alpha):
        found.append("alpha has the wrong sign: y = a·x^(−alpha), so alpha is MINUS the slope of log y vs log x.")
    if ln_a != 0 and close(ga, ln_a):
        found.append("a looks like the intercept ln(a): return a = exp(intercept).")
    if ln_a != 0 and close(ga, math.log10(a)):
        found.append("a looks like the intercept log10(a): return a = 10**intercept.")
    if a != 1 and close(ga, math.exp(math.log10(a))):
        found.append("a is exp(log10 intercept): with a log10 fit, a = 10**intercept, not exp(intercept).")
    if a != 1 and close(ga, 10.0**ln_a):
        found.append("a is 10**(ln intercept): with a natural-log fit, a = exp(intercept), not 10**intercept.")
    if not found and x is not None and ga > 0 and math.isfinite(galpha):
        want = ols_loglog(x, y)[:2]
        lin = linear_space_fit(x, y, got)
        if not (close(ga, want[0]) and close(galpha, want[1])) and all(
            math.isfinite(v) and abs(v - g) <= 1e-5 * max(abs(v), 1e-12) for v, g in zip(lin, got)
        ):
            found.append(
                "this is a least-squares fit in linear space (minimising Σ(y − a·x^(−alpha))², as curve_fit does): "
                "fit the straight line through (log x, log y) instead, which weights every point's log equally."
            )
    return " ".join(found)


def run_power(sub, x, y, want, *, call, rtol, show_expected=False, hint=""):
    __tracebackhide__ = True
    got = as_params(sub.fit_power_law(x, y), ("a", "alpha"), call)
    check_params(
        got,
        want,
        ("a", "alpha"),
        call=call,
        rtol=rtol,
        hint=hint,
        show_expected=show_expected,
        diagnosis=lazy(power_diagnosis, got, *want, x, y),
    )
    return got


def offset_diagnosis(got, want, x, y):
    """The mistake, when (a, alpha, c) came back as a typical wrong answer of the offset fit."""
    ga, galpha, gc = got
    a, alpha, c = want
    if gc == 0:
        return "c is returned as 0: the irreducible loss c must be fitted too (a plain log-log fit ignores it)."
    y = np.asarray(y, dtype=np.float64)
    if not 0 < gc < y.min():
        return ""
    pa, palpha, misfit = offset_profile(x, y, gc)
    if not (rel_err(ga, pa) <= 1e-6 and rel_err(galpha, palpha) <= 1e-6):
        return ""  # (a, alpha) is not the log-log line through y − c: some other mistake
    err = rel_err(gc, c)
    if err < 1e-2:
        return (
            f"c is only roughly right (off by {err:.1e} relative), as a coarse grid over c gives: refine the search "
            "(golden-section search, repeated zooming or Gauss-Newton) until the parameters are good to 1e-6."
        )
    # the misfit over c is unimodal near the true c; a local minimum elsewhere is a second valley
    u = math.log(y.min() - gc)
    neighbours = [math.exp(u + du) for du in (-0.1, 0.1)]
    far = abs(u - math.log(y.min() - c)) > 0.5  # the gap min(y) − c is off by more than a factor 1.6
    if far and all(offset_profile(x, y, y.min() - g)[2] >= misfit for g in neighbours if g < y.min()):
        return (
            f"the search for c ended in the wrong valley (c = {gc:.3g}): the misfit over c has a second, shallow "
            "valley; refine every local minimum of the grid and keep the one with the smallest misfit."
        )
    return ""


def run_offset(sub, x, y, want, *, call, show_expected=False):
    __tracebackhide__ = True
    got = as_params(sub.fit_power_law_offset(x, y), ("a", "alpha", "c"), call)
    check_params(
        got,
        want,
        ("a", "alpha", "c"),
        call=call,
        rtol=1e-6,
        show_expected=show_expected,
        diagnosis=lazy(offset_diagnosis, got, want, x, y),
    )
    return got


# ---------------------------------------------------------------- fit_power_law: noise-free


@public
def test_power_law_hand_case(sub):
    """x = [1, 10, 100, 1000], y = [1000, 100, 10, 1] (ints): y = 1000·x^(−1)."""
    run_power(
        sub,
        [1, 10, 100, 1000],
        [1000, 100, 10, 1],
        (1000.0, 1.0),
        call="fit_power_law([1, 10, 100, 1000], [1000, 100, 10, 1])",
        rtol=1e-9,
        show_expected=True,
        hint="log10 y = 3 − 1·log10 x: the slope is −1, so alpha = 1 and a = 10**3.",
    )


@pytest.mark.parametrize(
    "a, alpha, lo, hi, n",
    [(406.4, 0.34, 7, 11, 9), (2.5e4, 0.076, 6, 10, 20), (0.03, 1.7, 0, 3, 5), (7.0, 0.5, 2, 2.5, 30)],
    ids=["chinchilla-N", "kaplan-like", "steep", "narrow-range"],
)
def test_power_law_exact_recovery(sub, a, alpha, lo, hi, n):
    """Noise-free y = a·x^(−alpha): both parameters to 1e-9 relative."""
    x = np.logspace(lo, hi, n)
    run_power(
        sub,
        x,
        law(x, a, alpha),
        (a, alpha),
        call=f"fit_power_law on {n} noise-free points, x in 1e{lo}..1e{hi}",
        rtol=1e-9,
    )


def test_power_law_growing_has_negative_alpha(sub):
    """Chinchilla's optimal tokens grow as D ∝ C^0.5: alpha = −0.5."""
    flops = np.logspace(18, 25, 8)
    tokens = 20.0 * np.sqrt(flops / 120.0)
    run_power(
        sub,
        flops,
        tokens,
        (20.0 / math.sqrt(120.0), -0.5),
        call="fit_power_law(flops, tokens) for tokens = 20·sqrt(flops / 120)",
        rtol=1e-9,
        hint="alpha is −slope whatever its sign: a growing law has a negative alpha.",
    )


def test_power_law_two_points(sub):
    """Two points: the line through them is the fit, so a and alpha are exact."""
    x, y = [3.0, 3e5], [law(3.0, 12.0, 0.25), law(3e5, 12.0, 0.25)]
    run_power(sub, x, [float(v) for v in y], (12.0, 0.25), call="fit_power_law on 2 points", rtol=1e-9)


def test_power_law_unsorted_tuple_input(sub):
    """Tuples in a shuffled order: the fit does not depend on the order of the points."""
    x = np.logspace(3, 8, 11)[[4, 9, 0, 7, 2, 10, 5, 1, 8, 3, 6]]
    y = law(x, 55.0, 0.6)
    run_power(
        sub, tuple(x.tolist()), tuple(y.tolist()), (55.0, 0.6), call="fit_power_law on unsorted tuples", rtol=1e-9
    )


@SETTINGS
@given(
    log_a=st.floats(-3, 6),
    alpha=st.one_of(st.floats(0.05, 2.0), st.floats(-1.5, -0.1)),
    lo=st.floats(0, 10),
    span=st.floats(0.5, 6),
    n=st.integers(2, 30),
    seed=st.integers(0, 10_000),
)
def test_power_law_exact_property(sub, log_a, alpha, lo, span, n, seed):
    """Random noise-free laws and x ranges: recovery to 1e-9 relative."""
    rng = np.random.default_rng(seed)
    x = 10.0 ** np.concatenate([[lo, lo + span], rng.uniform(lo, lo + span, n - 2)])
    a = 10.0**log_a
    run_power(sub, x, law(x, a, alpha), (a, alpha), call=f"fit_power_law on {n} noise-free points", rtol=1e-9)


# ---------------------------------------------------------------- fit_power_law: noisy data

NOISY = [  # (seed, a, alpha, x from 10**lo to 10**hi, n points, sigma of the log-normal noise)
    (1, 406.4, 0.34, 7, 11, 12, 0.05),
    (2, 410.7, 0.28, 9, 13, 40, 0.02),
    (3, 3.0, 0.05, 5, 10, 25, 0.1),
    (4, 1e3, 1.2, 1, 4, 8, 0.2),
]


def noisy_case(seed, a, alpha, lo, hi, n, sigma):
    """Log-normal noise, y = a·x^(−alpha)·exp(sigma·eps): the model log-log least squares is made for."""
    rng = np.random.default_rng(seed)
    x = np.sort(10.0 ** rng.uniform(lo, hi, n))
    return x, law(x, a, alpha) * np.exp(sigma * rng.standard_normal(n))


@pytest.mark.parametrize("case", NOISY, ids=[f"seed{c[0]}" for c in NOISY])
def test_power_law_noisy_within_noise(sub, case):
    """The exponent lies within 5 standard errors of the true one (sigma known)."""
    seed, a, alpha, lo, hi, n, sigma = case
    x, y = noisy_case(*case)
    got = as_params(sub.fit_power_law(x, y), ("a", "alpha"), "fit_power_law")
    _, _, se_slope, se_icept = ols_loglog(x, y)
    bound_alpha, bound_log_a = 5 * sigma * se_slope, 5 * sigma * se_icept
    where = f"{n} points, x in 1e{lo}..1e{hi}, log-normal noise sigma={sigma}, seed {seed}"
    check(
        math.isfinite(got[1]) and abs(got[1] - alpha) <= bound_alpha,
        f"fit_power_law on noisy data ({where}): alpha={got[1]:.6g} is {abs(got[1] - alpha):.3g} away from the "
        f"true exponent, more than 5 standard errors ({bound_alpha:.3g}).",
        diagnosis=lazy(power_diagnosis, got, a, alpha, x, y),
    )
    check(
        got[0] > 0 and abs(math.log(got[0]) - math.log(a)) <= bound_log_a,
        f"fit_power_law on noisy data ({where}): log(a) is more than 5 standard errors ({bound_log_a:.3g}) from "
        f"the true one (got a={got[0]:.6g}).",
        diagnosis=lazy(power_diagnosis, got, a, alpha, x, y),
    )


@pytest.mark.parametrize("case", NOISY[:2], ids=["seed1", "seed2"])
def test_power_law_noisy_is_loglog_least_squares(sub, case):
    """On noisy data the answer is the least-squares line of log y on log x."""
    x, y = noisy_case(*case)
    want = ols_loglog(x, y)[:2]
    run_power(
        sub,
        x,
        y,
        want,
        call=f"fit_power_law on noisy data (seed {case[0]})",
        rtol=1e-8,
        hint="Fit a straight line to (log x, log y) by ordinary least squares (np.polyfit(np.log(x), np.log(y), 1)); "
        "a fit in linear space, minimising Σ(y − a·x^(−alpha))², weights the points differently.",
    )


# ---------------------------------------------------------------- fit_power_law_offset

CHINCHILLA_N = (406.4, 0.34, 1.69)
CHINCHILLA_D = (410.7, 0.28, 1.69)


@public
def test_offset_chinchilla_params(sub):
    """Chinchilla's L(N) = 406.4·N^(−0.34) + 1.69 at N = 1e7 ... 1e11: all three recovered."""
    x = np.logspace(7, 11, 5)
    run_offset(
        sub,
        x,
        law(x, *CHINCHILLA_N),
        CHINCHILLA_N,
        call="fit_power_law_offset on L(N) = 406.4·N^(−0.34) + 1.69, N = logspace(7, 11, 5)",
        show_expected=True,
    )


def test_offset_chinchilla_tokens_int_list(sub):
    """L(D) = 410.7·D^(−0.28) + 1.69 with D a shuffled list of Python ints from 1e9 to 1e13."""
    d = [10**9, 4 * 10**12, 2 * 10**10, 10**13, 3 * 10**9, 7 * 10**11, 10**11, 5 * 10**9, 2 * 10**12, 4 * 10**10]
    y = law(d, *CHINCHILLA_D).tolist()
    run_offset(sub, d, y, CHINCHILLA_D, call="fit_power_law_offset on the data-scaling law, D a list of ints")


OFFSET_CASES = {  # id: (alpha, c, the power-law term at max(x) as a multiple of c, x)
    "three-points": (0.5, 0.5, 1.0, [1e6, 3e7, 1e9]),
    "small-alpha-tiny-term": (0.1, 2.0, 0.02, np.logspace(2, 8, 13)),
    "dominant-term": (0.5, 0.01, 0.9, np.logspace(3, 7, 9)),
    "steep-small-term": (1.0, 3.0, 0.011, np.logspace(3, 5, 6)),
    "nearly-flat": (0.12, 1.0, 0.012, np.logspace(6, 9, 10)),  # a second, shallow valley towards c = 0
    "repeated-unsorted-x": (0.7, 0.25, 0.05, [1e4, 1e6, 1e4, 3e5, 1e6, 2e3, 5e4]),
}


def offset_case(name):
    """(a, alpha, c, x) for a named case; a is set by the term's size at max(x)."""
    alpha, c, term_at_max, x = OFFSET_CASES[name]
    x = np.asarray(x, dtype=np.float64)
    return term_at_max * c * x.max() ** alpha, alpha, c, x


@pytest.mark.parametrize("name", list(OFFSET_CASES))
def test_offset_edge_cases(sub, name):
    """Three points, a small exponent, c tiny or dominant, nearly flat data, repeated and unsorted x."""
    a, alpha, c, x = offset_case(name)
    term = law(x, a, alpha) / c
    assert 0.01 <= term.min() and term.max() <= 100, "spec fixture outside the prompt's range"
    run_offset(
        sub,
        x,
        law(x, a, alpha, c),
        (a, alpha, c),
        call=f"fit_power_law_offset ({name}: {len(x)} points, x in {x.min():.0e}..{x.max():.0e})",
    )


@SETTINGS
@given(
    alpha=st.floats(0.1, 1.0),
    span_frac=st.floats(0.0, 1.0),
    lo_frac=st.floats(0.0, 1.0),
    n=st.integers(3, 50),
    log_c=st.floats(-3, 3),
    v_frac=st.floats(0.0, 1.0),
    seed=st.integers(0, 10_000),
)
def test_offset_random_property(sub, alpha, span_frac, lo_frac, n, log_c, v_frac, seed):
    """Random noise-free cases from the prompt's range: each parameter to 1e-6 relative."""
    span = 2.0 + span_frac * (min(4.0 / alpha, 12.0) - 2.0)  # decades; the term varies at most 1e4-fold
    lo = lo_frac * (14.0 - span)
    rng = np.random.default_rng(seed)
    x = 10.0 ** np.concatenate([[lo, lo + span], rng.uniform(lo, lo + span, n - 2)])
    rng.shuffle(x)
    c = 10.0**log_c
    v = -2.0 + v_frac * (4.0 - alpha * span)  # log10 of the term at max(x), over c
    a = c * 10.0**v * x.max() ** alpha
    run_offset(
        sub, x, law(x, a, alpha, c), (a, alpha, c), call=f"fit_power_law_offset ({n} points, {span:.2g} decades)"
    )


# ---------------------------------------------------------------- compute_optimal


def check_budget(sub, flops, r, *, call, show_expected=False, pass_r="keyword"):
    """Call compute_optimal with ``r`` by keyword, positionally or not at all (the default 20)."""
    __tracebackhide__ = True
    if pass_r == "keyword":
        result = sub.compute_optimal(flops, tokens_per_param=r)
    elif pass_r == "positional":
        result = sub.compute_optimal(flops, r)
    else:
        assert r == 20.0
        result = sub.compute_optimal(flops)
    got = as_params(result, ("params", "tokens"), call)
    n, d = got
    want_n = math.sqrt(flops / (6.0 * r))
    want = (want_n, r * want_n)
    hint = diagnosis = ""
    if rel_err(n, math.sqrt(flops / (2.0 * r))) < 1e-9:
        diagnosis = (
            "params match flops = 2 · N · D (the forward pass only): training costs 6 · N · D FLOPs "
            "(2 forward + 4 backward per parameter per token)."
        )
    elif rel_err(n, math.sqrt(flops / r)) < 1e-9:
        diagnosis = (
            "params match flops = N · D: the 6 is missing, training costs 6 · N · D FLOPs "
            "(2 forward + 4 backward per parameter per token)."
        )
    elif r != 1 and rel_err(n, want[1]) < 1e-9 and rel_err(d, want_n) < 1e-9:
        diagnosis = "the result is (tokens, params): return them in the order (params, tokens)."
    elif r != 1 and rel_err(n, want_n) < 1e-9 and rel_err(d, n / r) < 1e-9:
        diagnosis = "tokens = params / tokens_per_param: it should be tokens = tokens_per_param · params."
    elif n > 0 and r != 1 and rel_err(d / n, r) < 1e-9 and rel_err(6 * n * d, flops) > 1e-6:
        hint = "D / N is right but 6·N·D != flops: N = sqrt(flops / (6 · tokens_per_param))."
    if n > 0 and d > 0 and math.isfinite(n * d):
        check(
            rel_err(6.0 * n * d, flops) <= 1e-12,
            f"{call}: 6·params·tokens should equal flops to 1e-12 relative, but it is off by "
            f"{rel_err(6.0 * n * d, flops):.3g} relative.{' ' + hint if hint else ''}",
            diagnosis=diagnosis,
        )
        check(
            rel_err(d / n, r) <= 1e-12,
            f"{call}: tokens / params should be tokens_per_param={r}, got {d / n:.10g}.{' ' + hint if hint else ''}",
            diagnosis=diagnosis,
        )
    check_params(
        got,
        want,
        ("params", "tokens"),
        call=call,
        rtol=1e-12,
        hint=hint,
        show_expected=show_expected,
        diagnosis=diagnosis,
    )
    return got


@public
def test_compute_optimal_chinchilla_budget(sub):
    """5.76e23 FLOPs at 20 tokens/param: N = sqrt(4.8e21) ≈ 6.93e10, D ≈ 1.39e12."""
    check_budget(sub, 5.76e23, 20.0, call="compute_optimal(5.76e23)", show_expected=True, pass_r="default")


def test_compute_optimal_round_numbers(sub):
    """1.2e20 FLOPs at 20 tokens/param (ints): exactly 1e9 params and 2e10 tokens."""
    flops = 12 * 10**19
    got = check_budget(
        sub,
        flops,
        20,
        call="compute_optimal(12 * 10**19, tokens_per_param=20)",
        show_expected=True,
    )
    check_params(got, (1e9, 2e10), ("params", "tokens"), call="compute_optimal(1.2e20, 20)", rtol=1e-12)


@SETTINGS
@given(log_flops=st.floats(12, 30), r=st.one_of(st.floats(0.5, 200.0), st.integers(1, 100)))
def test_compute_optimal_property(sub, log_flops, r):
    """Random budgets and ratios: 6·N·D = flops and D / N = tokens_per_param to 1e-12."""
    flops = 10.0**log_flops
    check_budget(sub, flops, r, call=f"compute_optimal({flops:.4g}, tokens_per_param={r!r})")


def test_compute_optimal_positional_ratio(sub):
    """tokens_per_param may also be passed positionally: compute_optimal(3e21, 5.0)."""
    check_budget(sub, 3e21, 5.0, call="compute_optimal(3e21, 5.0)", pass_r="positional")


# ---------------------------------------------------------------- errors


BAD_FITS = {
    "x has 0": ([0.0, 1.0, 10.0, 100.0], [5.0, 4.0, 3.0, 2.0]),
    "x negative": ([-1.0, 1.0, 10.0, 100.0], [5.0, 4.0, 3.0, 2.0]),
    "y has 0": ([1.0, 10.0, 100.0, 1000.0], [5.0, 4.0, 0.0, 2.0]),
    "y negative": ([1.0, 10.0, 100.0, 1000.0], [5.0, 4.0, 3.0, -2.0]),
    "lengths differ": ([1.0, 10.0, 100.0, 1000.0], [5.0, 4.0, 3.0]),
    "one point": ([10.0], [3.0]),
    "no points": ([], []),
}


BAD_FIT_DIAGNOSES = {
    "x has 0": "an x ≤ 0 is not rejected: check np.any(x <= 0) before taking logs (log 0 is -inf, not an error).",
    "x negative": "an x ≤ 0 is not rejected: check np.any(x <= 0) before taking logs (log of a negative is nan).",
    "y has 0": "a y ≤ 0 is not rejected: check np.any(y <= 0) before taking logs (log 0 is -inf, not an error).",
    "y negative": "a y ≤ 0 is not rejected: check np.any(y <= 0) before taking logs (log of a negative is nan).",
    "lengths differ": "x and y of different lengths are not rejected: compare len(x) and len(y) first.",
    "one point": "a single point is not rejected: a line needs at least 2 points (the offset law 3).",
    "no points": "empty x and y are not rejected: a line needs at least 2 points (the offset law 3).",
}


def expect_value_error(fn, *args, call, diagnosis):
    """``fn(*args)`` must raise ValueError; otherwise a Wrong Answer with ``diagnosis``."""
    __tracebackhide__ = True
    try:
        expect_raises(ValueError, fn, *args, call=call)
    except Mistake as missing:
        fail(str(missing), diagnosis=diagnosis)


@public
@pytest.mark.parametrize("which", ["fit_power_law", "fit_power_law_offset"])
@pytest.mark.parametrize("case", list(BAD_FITS))
def test_fits_reject_bad_data(sub, which, case):
    """Non-positive values, mismatched lengths, too few points: ValueError."""
    x, y = BAD_FITS[case]
    expect_value_error(
        getattr(sub, which),
        np.array(x),
        np.array(y),
        call=f"{which}(np.array({x}), np.array({y})) ({case})",
        diagnosis=BAD_FIT_DIAGNOSES[case],
    )


def test_offset_rejects_two_points(sub):
    """fit_power_law_offset has three parameters, so two points are a ValueError."""
    expect_value_error(
        sub.fit_power_law_offset,
        [1.0, 100.0],
        [3.0, 2.0],
        call="fit_power_law_offset([1.0, 100.0], [3.0, 2.0])",
        diagnosis="fit_power_law_offset accepts fewer than 3 points: three parameters need at least 3.",
    )


def test_negative_values_in_lists_rejected(sub):
    """A negative x in a plain list is refused too (log of a negative number is nan, not an error)."""
    for which in ("fit_power_law", "fit_power_law_offset"):
        expect_value_error(
            getattr(sub, which),
            [1.0, 10.0, -100.0, 1000.0],
            [4.0, 3.0, 2.5, 2.2],
            call=f"{which}([1.0, 10.0, -100.0, 1000.0], [4.0, 3.0, 2.5, 2.2])",
            diagnosis=BAD_FIT_DIAGNOSES["x negative"],
        )


@pytest.mark.parametrize(
    "flops, r",
    [(0.0, 20.0), (-1e20, 20.0), (1e21, 0.0), (1e21, -5.0), (0, 20)],
    ids=["C=0", "C<0", "r=0", "r<0", "C=int0"],
)
def test_compute_optimal_rejects_non_positive(sub, flops, r):
    """flops ≤ 0 or tokens_per_param ≤ 0: ValueError."""
    what = "flops" if flops <= 0 else "tokens_per_param"
    expect_value_error(
        sub.compute_optimal,
        flops,
        r,
        call=f"compute_optimal({flops!r}, {r!r})",
        diagnosis=f"{what} ≤ 0 is not rejected: compute_optimal must raise ValueError unless flops > 0 and "
        "tokens_per_param > 0.",
    )


# ---------------------------------------------------------------- hygiene


@pytest.mark.parametrize("which", ["fit_power_law", "fit_power_law_offset"])
def test_inputs_not_modified(sub, which):
    """Unsorted float64 arrays are left as they were (no in-place sort or rescale)."""
    x = np.array([1e9, 1e7, 1e11, 3e8, 1e10, 2e7])
    y = law(x, *CHINCHILLA_N)
    getattr(sub, which)(x, y)
    try:
        check_unchanged_inputs(sub, ["x", "y"])
    except Mistake as changed:
        fail(
            f"{which}(x, y) on unsorted float64 arrays: {changed}",
            diagnosis="the caller's x and y are modified in place (sorted or rescaled): work on copies, "
            "e.g. x = np.array(x, dtype=np.float64), or use x[order] which makes a new array.",
        )
