"""Specs for entropy, cross_entropy and kl_divergence: hand-computed values, an oracle written
from the definitions (not the reference), the 0·log 0 and q = 0 conventions, bases, 1-D/2-D results, the identity
H(p, q) = H(p) + KL(p‖q) on random distributions, and the ValueError cases."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from grader.spec import (
    RemoteException,
    check,
    check_close,
    check_unchanged_inputs,
    describe,
    describe_value,
    diagnosed,
    fail,
    lazy,
    public,
)

FUNCTIONS = ["entropy", "cross_entropy", "kl_divergence"]


# ---------------------------------------------------------------- oracle (in the judge)


def terms(name, p, q=None, base=math.e, *, skip_zero_q=False):
    """The summed terms of the definitions, elementwise in float64, with the conventions of
    scipy.stats.entropy: p and q scaled to sum to 1, 0·log 0 = 0, and q = 0 where p > 0
    gives inf (``skip_zero_q``: the mistake of leaving those terms out instead)."""
    p = np.asarray(p, dtype=np.float64)
    p = p / p.sum(axis=-1, keepdims=True)
    log_p = np.log(np.where(p > 0, p, 1.0))
    value = -np.where(p > 0, p * log_p, 0.0)  # the terms of H(p)
    if name != "entropy":
        q = np.asarray(q, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):  # log 0 = -inf, masked where p = 0
            q = q / q.sum(axis=-1, keepdims=True)
            used = (p > 0) & (q > 0) if skip_zero_q else p > 0
            kl = np.where(used, p * (log_p - np.log(q)), 0.0)
        value = kl if name == "kl_divergence" else np.where(used | (p == 0), value, 0.0) + kl
    return value / math.log(base)


def oracle(name, p, q=None, base=math.e, **mistake):
    """The expected value(s) straight from the definitions in float64, row by row for 2-D
    inputs (see `terms`)."""
    value = terms(name, p, q, base, **mistake).sum(axis=-1)
    return float(value) if np.ndim(value) == 0 else np.asarray(value, dtype=np.float64)


def call(sub, name, p, q=None, **kwargs):
    """Call one of the three functions; entropy takes p only. A ValueError on valid inputs
    whose float sums are not exactly 1 carries the diagnosis of an exact sum check when the
    same call on one-hot rows (sums of exactly 1) goes through."""
    __tracebackhide__ = True
    fn = getattr(sub, name)
    try:
        return fn(p, **kwargs) if name == "entropy" else fn(p, q, **kwargs)
    except RemoteException as exc:
        inputs = [p] if name == "entropy" else [p, q]
        if exc.type_name == "ValueError" and _valid(*inputs) and any(_inexact_sum(x) for x in inputs):
            exc.diagnosis = diagnosed(lazy(_exact_sum_diagnosis, fn, name, np.shape(p), kwargs))
        raise


def _exact_sum_diagnosis(fn, name, shape, kwargs):
    one_hot = np.zeros(shape)
    one_hot[..., 0] = 1.0
    fn(one_hot, **kwargs) if name == "entropy" else fn(one_hot, one_hot, **kwargs)  # raises: no diagnosis
    return (
        "the sum is checked with == 1: valid float sums such as 0.9999999999999999 are rejected; allow |Σ − 1| ≤ 1e-6."
    )


def _valid(*inputs):
    """True if every input is a valid 1-D or 2-D distribution (and they have one shape)."""
    arrays = [np.asarray(x, dtype=np.float64) for x in inputs]
    return all(
        a.ndim in (1, 2) and a.shape == arrays[0].shape and (a >= 0).all() and np.all(np.abs(a.sum(-1) - 1) <= 1e-6)
        for a in arrays
    )


def _inexact_sum(x):
    return bool(np.any(np.asarray(x, dtype=np.float64).sum(axis=-1) != 1.0))


def signature(name, p, q=None, base=None):
    args = "p" if name == "entropy" else "p, q"
    return f"{name}({args}{'' if base is None else f', base={base:g}'})"


# ---------------------------------------------------------------- diagnosis of typical mistakes


def _variants(name, p, q, base):
    """(diagnosis, value) of typical wrong answers."""
    if base != math.e:
        yield "`base` is ignored: the value is in nats (divide np.log by log(base)).", oracle(name, p, q)
    if base != 2:
        yield "the log is always base 2: the value is in bits whatever `base` is.", oracle(name, p, q, base=2)
    if name != "entropy":
        yield (
            f"p and q are swapped: the value is {name}(q, p), but p is the true distribution and q the model's.",
            oracle(name, q, p, base),
        )
        yield (
            "terms where q = 0 are skipped: where p > 0 and q = 0 the result is inf (the model calls it impossible).",
            oracle(name, p, q, base, skip_zero_q=True),
        )
    if name == "kl_divergence":
        yield (
            "the entropy H(p) is not subtracted: the value is the cross-entropy H(p, q).",
            oracle("cross_entropy", p, q, base),
        )
    if np.ndim(p) == 2:
        yield (
            "the sum runs over axis 0, down the columns: sum each row (axis=-1), one value per row.",
            terms(name, p, q, base).sum(axis=0),
        )


def _same(a, b):
    return a.shape == b.shape and np.allclose(a, b, rtol=1e-6, atol=1e-9, equal_nan=True)


def diagnose(got, name, p, q=None, base=math.e):
    """The mistake whose value the submission's matches (and the right one does not), or ''
    (also when several do: the value cannot tell them apart)."""
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return ""
    expected = np.asarray(oracle(name, p, q, base))
    if got.shape == expected.shape and (np.isnan(got) & ~np.isnan(expected)).any() and (np.asarray(p) == 0).any():
        return "a term with p = 0 gives nan (0 · log 0 = 0 · −inf): such terms must contribute 0 (0 log 0 = 0)."
    if got.ndim == 0 and expected.ndim == 1 and _same(got, np.asarray(expected.sum())):
        return "all the rows are summed into one number (a sum without axis): one value per row, sum along axis=-1."
    found = {
        diagnosis
        for diagnosis, wrong in _variants(name, p, q, base)
        if not _same(np.asarray(wrong), expected) and _same(got, np.asarray(wrong))
    }
    return found.pop() if len(found) == 1 else ""


def as_scalar(got, what):
    """The value of a result that must be a real scalar (Python float or NumPy scalar)."""
    __tracebackhide__ = True
    if isinstance(got, np.ndarray) and got.ndim > 0:
        fail(
            f"{what} should be a scalar for a 1-D input, but it is an array of shape {list(got.shape)}.",
            diagnosis="a 1-D input gives a one-element array: return a float (float(...)) for one distribution."
            if got.shape == (1,)
            else "",
        )
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, float, np.integer, np.floating, np.ndarray)):
        fail(f"{what} should be a float for a 1-D input, but it is {describe_value(got)}.")
    return float(got)


def check_value(got, name, p, q=None, base=math.e, *, expected=None, what=None, hint=""):
    """Check a 1-D (scalar) or 2-D (array) result against the oracle or a given value."""
    __tracebackhide__ = True
    what = what or signature(name, p, q, None if base == math.e else base)
    expected = oracle(name, p, q, base) if expected is None else expected
    diagnosis = lazy(diagnose, got, name, p, q, base)
    inputs = describe(p=np.asarray(p).tolist(), **({} if q is None else {"q": np.asarray(q).tolist()}))
    inputs += f", base={'e' if base == math.e else f'{base:g}'}"
    if np.ndim(expected) == 0:
        got = as_scalar(got, what)
        check_close(
            np.float64(got),
            np.float64(expected),
            what=what,
            kind="reduction",
            inputs=inputs,
            hint=hint,
            diagnosis=diagnosis,
        )
    else:
        check(
            isinstance(got, np.ndarray),
            f"{what} should be a numpy array with one value per row for a 2-D input, but it is "
            f"{describe_value(got)}. Inputs: {inputs}.",
            diagnosis=diagnosis,
        )
        check_close(got, expected, what=what, kind="reduction", inputs=inputs, hint=hint, diagnosis=diagnosis)


def expect_value_error(what, sub, name, p, q=None, *, diagnosis="", **kwargs):
    """Fail unless calling ``name`` with these arguments raises ValueError; ``diagnosis``
    names the mistake when it returns instead."""
    __tracebackhide__ = True
    try:
        got = call(sub, name, p, q, **kwargs)
    except ValueError:  # the submission's own ValueError is one too
        return
    except RemoteException as exc:
        fail(f"{what} should raise ValueError, but it raised {exc.type_name}: {exc.remote_message}")
    fail(f"{what} should raise ValueError, but it returned {describe_value(got)}.", diagnosis=diagnosis)


# ---------------------------------------------------------------- hand-computed values


@public
def test_hand_computed_bits(sub):
    """p = [1/2, 1/4, 1/4], q = [1/4, 1/4, 1/2] in bits: H(p) = 1.5, H(p, q) = 1.75, KL = 0.25"""
    p, q = [0.5, 0.25, 0.25], [0.25, 0.25, 0.5]
    check_value(sub.entropy(p, base=2), "entropy", p, base=2, expected=1.5)
    check_value(sub.cross_entropy(p, q, base=2), "cross_entropy", p, q, base=2, expected=1.75)
    check_value(sub.kl_divergence(p, q, base=2), "kl_divergence", p, q, base=2, expected=0.25)


@public
def test_zero_probability_contributes_nothing(sub):
    """0·log 0 = 0: entropy([0.5, 0.5, 0], base=2) is 1 bit, not nan"""
    p = np.array([0.5, 0.5, 0.0])
    check_value(
        call(sub, "entropy", p, base=2),
        "entropy",
        p,
        base=2,
        expected=1.0,
        hint="an outcome with probability 0 contributes 0 (the limit of x log x as x -> 0); "
        "np.log(0) is -inf and 0 * -inf is nan, so leave those terms out.",
    )


@public
def test_rows_of_a_2d_input(sub):
    """A 2-D input holds one distribution per row: entropy in bits of three rows is [1, 0, 0.8113]"""
    p = np.array([[0.5, 0.5], [1.0, 0.0], [0.25, 0.75]])
    expected = np.array([1.0, 0.0, 2 - 0.75 * math.log2(3)])
    check_value(sub.entropy(p, base=2), "entropy", p, base=2, expected=expected)


def test_uniform_distribution_has_maximal_entropy(sub):
    """The uniform distribution over 8 outcomes has entropy 3 bits; any other has less"""
    check_value(sub.entropy(np.full(8, 0.125), base=2), "entropy", np.full(8, 0.125), base=2, expected=3.0)
    skewed = np.array([0.3, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    check(
        as_scalar(sub.entropy(skewed, base=2), "entropy(p, base=2)") < 3.0,
        "a non-uniform distribution over 8 outcomes should have entropy below 3 bits.",
    )


def test_kl_is_not_symmetric(sub):
    """KL([1/2, 1/2] ‖ [1/4, 3/4]) = 1 − ½·log2 3 bits but KL([1/4, 3/4] ‖ [1/2, 1/2]) = ¾·log2 3 − 1"""
    p, q = [0.5, 0.5], [0.25, 0.75]
    check_value(sub.kl_divergence(p, q, base=2), "kl_divergence", p, q, base=2, expected=1 - 0.5 * math.log2(3))
    check_value(sub.kl_divergence(q, p, base=2), "kl_divergence", q, p, base=2, expected=0.75 * math.log2(3) - 1)


def test_cross_entropy_argument_order(sub):
    """H(p, q) = −Σ p log q: in bits H([1, 0], [½, ½]) = 1, while H([½, ½], [1, 0]) = inf"""
    p, q = [1.0, 0.0], [0.5, 0.5]
    check_value(call(sub, "cross_entropy", p, q, base=2), "cross_entropy", p, q, base=2, expected=1.0)
    check_value(
        call(sub, "cross_entropy", q, p, base=2),
        "cross_entropy",
        q,
        p,
        base=2,
        expected=math.inf,
        hint="the second outcome has probability 1/2 under p but 0 under q: log 0 = -inf makes H(p, q) infinite.",
    )


def test_default_base_is_natural_log(sub):
    """Without `base` the results are in nats (natural logarithm)"""
    p, q = np.array([0.2, 0.3, 0.5]), np.array([0.1, 0.6, 0.3])
    for name in FUNCTIONS:
        check_value(call(sub, name, p, q), name, p, q)


@pytest.mark.parametrize("base", [2, 10, 0.5, 3.7])
def test_base_changes_the_unit(sub, base):
    """log base b = ln / ln b for every function (base 2: bits; a base below 1 gives negative values)"""
    p = np.array([0.1, 0.4, 0.0, 0.3, 0.2])
    q = np.array([0.25, 0.25, 0.2, 0.1, 0.2])
    for name in FUNCTIONS:
        check_value(call(sub, name, p, q, base=base), name, p, q, base=base)


# ---------------------------------------------------------------- zeros and infinities


def test_inf_where_q_is_zero_and_p_positive(sub):
    """p > 0 where q = 0 makes cross-entropy and KL infinite (not nan, not finite)"""
    p, q = np.array([0.5, 0.3, 0.2]), np.array([0.6, 0.4, 0.0])
    hint = (
        "p gives the third outcome probability 0.2 but q gives it 0: p log(p/0) = inf. "
        "Do not skip terms where q = 0 unless p = 0 there too."
    )
    for name in ("cross_entropy", "kl_divergence"):
        check_value(call(sub, name, p, q), name, p, q, expected=math.inf, hint=hint)
    check_value(sub.entropy(p), "entropy", p)


def test_zeros_where_p_is_zero(sub):
    """Terms with p = 0 contribute 0 whether q is 0 there or not"""
    p, q = np.array([0.5, 0.5, 0.0, 0.0]), np.array([0.25, 0.5, 0.0, 0.25])
    for name in FUNCTIONS:
        check_value(
            call(sub, name, p, q), name, p, q, hint="0·log 0 = 0 and 0·log(0/q) = 0: terms where p = 0 add nothing."
        )


def test_kl_of_a_distribution_with_itself_is_zero(sub):
    """KL(p‖p) = 0 and H(p, p) = H(p), zeros in p included"""
    for p in ([0.2, 0.3, 0.5], [0.0, 1.0, 0.0], [0.1, 0.0, 0.6, 0.3]):
        got = as_scalar(sub.kl_divergence(p, p), "kl_divergence(p, p)")
        check(abs(got) <= 1e-12, f"kl_divergence(p, p) should be 0, got {got!r}. Inputs: p={p}.")
        check_value(sub.cross_entropy(p, p), "cross_entropy", p, p, expected=oracle("entropy", p))


# ---------------------------------------------------------------- result types and 2-D inputs


@pytest.mark.parametrize("name", FUNCTIONS)
def test_1d_input_gives_a_scalar(sub, name):
    """A 1-D input gives a real scalar (a Python float or a NumPy float), not an array"""
    p, q = np.array([0.7, 0.2, 0.1]), np.array([0.3, 0.3, 0.4])
    check_value(call(sub, name, p, q), name, p, q)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_2d_input_gives_one_value_per_row(sub, name):
    """Rows are distributions: a (5, 7) input gives a float64 array of shape (5,) matching row-by-row values"""
    rng = np.random.default_rng(7)
    p = rng.dirichlet(np.ones(7), size=5)  # (5, 7)
    q = rng.dirichlet(np.ones(7), size=5)  # (5, 7)
    p[1, [0, 3]] = 0.0
    p[1] /= p[1].sum()
    q[2, 4] = 0.0
    q[2] /= q[2].sum()
    p[2, 4] = 0.0  # row 2: q = 0 only where p = 0 (finite)
    p[2] /= p[2].sum()
    q[3, 1] = 0.0  # row 3: q = 0 where p > 0 (inf for cross-entropy and KL)
    q[3] /= q[3].sum()
    check_value(call(sub, name, p, q), name, p, q, what=f"{signature(name, p, q)} for p and q of shape (5, 7)")


def test_single_row_2d_input_gives_an_array(sub):
    """A (1, K) input is still 2-D: the result is an array of shape (1,), not a scalar"""
    p, q = np.array([[0.6, 0.4]]), np.array([[0.5, 0.5]])
    for name in FUNCTIONS:
        check_value(call(sub, name, p, q), name, p, q, what=f"{signature(name, p, q)} for p and q of shape (1, 2)")


def test_python_lists_are_accepted(sub):
    """Plain Python lists work like arrays (1-D and 2-D)"""
    p, q = [0.25, 0.25, 0.5], [0.5, 0.25, 0.25]
    for name in FUNCTIONS:
        check_value(call(sub, name, p, q, base=2), name, p, q, base=2)
    rows_p, rows_q = [[0.5, 0.5], [0.9, 0.1]], [[0.9, 0.1], [0.5, 0.5]]
    check_value(sub.kl_divergence(rows_p, rows_q), "kl_divergence", rows_p, rows_q)


def test_inputs_are_not_modified(sub):
    """The input arrays are left unchanged"""
    p = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    q = np.array([[0.25, 0.5, 0.25], [0.0, 0.5, 0.5]])
    for name in FUNCTIONS:
        call(sub, name, p, q, base=2)
        check_unchanged_inputs(sub, ["p", "q"] if name != "entropy" else ["p"])


# ---------------------------------------------------------------- invalid inputs


@pytest.mark.parametrize("base", [0, -2.0, 1])
def test_invalid_base_raises(sub, base):
    """base ≤ 0 or base = 1 raise ValueError (log base 1 would divide by zero)"""
    p, q = [0.5, 0.5], [0.25, 0.75]
    why = "base = 1 is not rejected (log 1 = 0 divides by zero)" if base == 1 else "base ≤ 0 is not rejected"
    for name in FUNCTIONS:
        expect_value_error(
            signature(name, p, q, base), sub, name, p, q, base=base, diagnosis=f"{why}: it must raise ValueError."
        )


NEGATIVE = {
    "entropy_p": ("entropy", [1.2, -0.2], None),
    "cross_entropy_q": ("cross_entropy", [0.5, 0.5], [1.5, -0.5]),
    "kl_divergence_p": ("kl_divergence", [1.2, -0.2], [0.5, 0.5]),
    "kl_divergence_2d_q": ("kl_divergence", [[0.5, 0.5], [0.5, 0.5]], [[0.5, 0.5], [-0.1, 1.1]]),
}


@pytest.mark.parametrize("case", list(NEGATIVE))
def test_negative_entries_raise(sub, case):
    """A negative entry raises ValueError, even when the entries sum to 1"""
    name, p, q = NEGATIVE[case]
    expect_value_error(
        f"{signature(name, p, q)} with {describe(p=p, **({} if q is None else {'q': q}))}",
        sub,
        name,
        p,
        q,
        diagnosis="negative entries are not rejected: check every entry is ≥ 0, not only the sum.",
    )


NOT_NORMALISED = {
    "entropy_sum_0.9": ("entropy", [0.5, 0.4], None),
    "entropy_sum_1+1e-5": ("entropy", [0.5, 0.50001], None),
    "cross_entropy_q_sum_1-2e-6": ("cross_entropy", [0.5, 0.5], [0.5, 0.499998]),
    "kl_divergence_2d_one_bad_row": ("kl_divergence", [[0.5, 0.5], [0.3, 0.3]], [[0.5, 0.5], [0.5, 0.5]]),
}


@pytest.mark.parametrize("case", list(NOT_NORMALISED))
def test_not_summing_to_one_raises(sub, case):
    """An input (or a row of one) whose sum is more than 1e-6 away from 1 raises ValueError"""
    name, p, q = NOT_NORMALISED[case]
    expect_value_error(
        f"{signature(name, p, q)} with {describe(p=p, **({} if q is None else {'q': q}))}",
        sub,
        name,
        p,
        q,
        diagnosis="a distribution whose sum is not 1 is not rejected: check |Σ − 1| ≤ 1e-6 (each row for 2-D).",
    )


def test_sums_within_tolerance_are_accepted(sub):
    """Sums within 1e-6 of 1 are valid: ten times 0.1 (0.9999999999999999) and 1 − 5e-7"""
    tenths = [0.1] * 10
    check_value(sub.entropy(tenths), "entropy", tenths, what="entropy([0.1] * 10)", expected=math.log(10))
    p, q = np.array([0.5, 0.4999995]), np.array([0.4999995, 0.5])
    for name in FUNCTIONS:
        value = as_scalar(call(sub, name, p, q), signature(name, p, q))
        expected = oracle(name, p, q)
        check(
            abs(value - expected) <= 1e-5,
            f"{signature(name, p, q)} with p and q summing to 1 − 5e-7 returned {value!r}: "
            "such inputs are valid (within 1e-6 of 1).",
        )


def test_mismatched_shapes_raise(sub):
    """p and q of different shapes raise ValueError"""
    for name in ("cross_entropy", "kl_divergence"):
        p, q = [0.5, 0.5, 0.0], [0.25, 0.25, 0.25, 0.25]
        expect_value_error(f"{name}(p, q) with p of length 3 and q of 4", sub, name, p, q)
        p2, q2 = np.full((2, 3), 1 / 3), np.full((2, 4), 0.25)
        expect_value_error(f"{name}(p, q) with p of shape (2, 3) and q of (2, 4)", sub, name, p2, q2)


@pytest.mark.parametrize("ndim", [0, 3])
def test_wrong_number_of_dimensions_raises(sub, ndim):
    """Only 1-D and 2-D inputs are distributions: a plain number or a 3-D array raises ValueError"""
    p = 1.0 if ndim == 0 else np.full((2, 2, 2), 0.5)  # a 0-d array would cross the wire as shape (1,)
    for name in FUNCTIONS:
        expect_value_error(f"{name} with {ndim}-D inputs", sub, name, p, p)


# ---------------------------------------------------------------- properties on random distributions


@st.composite
def distribution_pair(draw):
    """(p, q, base): 1-D or 2-D distributions with zeros, sometimes q = 0 where p > 0."""
    k = draw(st.integers(1, 8))
    rows = draw(st.sampled_from([None, 1, 3]))
    base = draw(st.sampled_from([2, math.e, 10]))
    weight = st.one_of(st.just(0.0), st.floats(1e-3, 1.0))

    def one():
        w = draw(st.lists(weight, min_size=k, max_size=k))
        if sum(w) == 0:
            w[draw(st.integers(0, k - 1))] = 1.0
        return np.array(w) / sum(w)

    if rows is None:
        return one(), one(), base
    return np.stack([one() for _ in range(rows)]), np.stack([one() for _ in range(rows)]), base


@settings(
    derandomize=True,
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    report_multiple_bugs=False,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: it would eat the time limit
)
@given(case=distribution_pair())
def test_random_distributions_satisfy_the_identity(sub, case):
    """Random p, q: values match the definitions, H(p, q) = H(p) + KL(p‖q), KL ≥ 0 and KL(p‖p) = 0"""
    p, q, base = case
    h = call(sub, "entropy", p, q, base=base)
    ce = call(sub, "cross_entropy", p, q, base=base)
    kl = call(sub, "kl_divergence", p, q, base=base)
    check_value(h, "entropy", p, q, base=base)
    check_value(ce, "cross_entropy", p, q, base=base)
    check_value(kl, "kl_divergence", p, q, base=base)
    h, ce, kl = (np.asarray(v, dtype=np.float64) for v in (h, ce, kl))
    inputs = describe(p=p.tolist(), q=q.tolist(), base="e" if base == math.e else base)
    check_close(
        ce,
        h + kl,
        what="cross_entropy(p, q) compared with entropy(p) + kl_divergence(p, q)",
        kind="reduction",
        inputs=inputs,
        hint="H(p, q) = H(p) + KL(p‖q) must hold (both infinite when q = 0 where p > 0).",
    )
    check(np.all(kl >= -1e-12), f"kl_divergence(p, q) is negative ({kl.min():.3g}); KL ≥ 0 always. Inputs: {inputs}.")
    self_kl = np.asarray(call(sub, "kl_divergence", p, p, base=base), dtype=np.float64)
    check(
        np.all(np.abs(self_kl) <= 1e-12),
        f"kl_divergence(p, p) should be 0, got up to {np.abs(self_kl).max():.3g}. Inputs: {inputs}.",
    )
