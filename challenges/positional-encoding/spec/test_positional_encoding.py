"""Specs for sinusoidal_positional_encoding: the table against the formula computed from
scratch in float64 (numpy, column by column), within 1e-5 + 1e-7·pos; float32 on the CPU,
shape [max_len, d_model]; odd widths ending with a sine; other bases; rows independent of
max_len; the relative-offset property; and the ValueErrors."""

import math

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.spec import check, check_close, diagnosing, expect_raises, fail, lazy, public

ATOL, PER_POSITION = 1e-5, 1e-7  # the tolerance at position pos: ATOL + PER_POSITION · pos

# ---------------------------------------------------------------- the oracle and typical mistakes


def table(max_len, d_model, base=10000.0, *, mistake=""):
    """The [max_len, d_model] table in float64 (numpy), column by column, optionally with one
    typical mistake; None where the mistake would not produce a table of this shape."""
    first = 1 if mistake == "from_one" else 0
    pos = np.arange(first, first + max_len, dtype=np.float64)
    pairs = (d_model + 1) // 2
    out = np.empty((max_len, d_model))

    def freq(col):  # the frequency of column col (2i or 2i + 1)
        even = col - col % 2
        if mistake == "exponent_i":
            even = col // 2
        elif mistake == "exponent_col":
            even = col
        width = d_model
        if mistake == "divide_by_even_width":
            width = d_model + d_model % 2
        b = 10000.0 if mistake == "base_ignored" else base
        if mistake == "no_log":
            return math.exp(-even / width)
        if mistake == "integer_division":
            return b ** -(even // width)
        if mistake == "positive_exponent":
            return b ** (even / width)
        return b ** (-even / width)

    for col in range(d_model):
        sine = col % 2 == 0
        if mistake == "swapped":
            sine = not sine
        if mistake == "odd_ends_with_cosine" and d_model % 2 and col == d_model - 1:
            sine = False
        source = col
        if mistake == "concatenated":  # [sin of every pair | cos of every pair]
            sine, source = col < pairs, 2 * col if col < pairs else 2 * (col - pairs) + 1
        angle = pos * freq(source)
        out[:, col] = np.sin(angle) if sine else np.cos(angle)
    return out


MISTAKES = {
    "concatenated": "The table matches [sin | cos] concatenated (all the sines, then all the cosines): the columns "
    "are interleaved, PE[:, 2i] = sin and PE[:, 2i+1] = cos of the same angle (pe[:, 0::2] = sin, "
    "pe[:, 1::2] = cos).",
    "exponent_i": "The table matches the exponent i/d_model with i the pair index: the exponent is the even column "
    "index 2i over d_model, base^(2i/d_model) (torch.arange(0, d_model, 2) / d_model).",
    "exponent_col": "The table matches a frequency per column, base^(col/d_model) with col odd for the cosines: a "
    "sine and its cosine share one frequency, the exponent is the even index 2i/d_model for both.",
    "odd_ends_with_cosine": "The last column is a cosine: with an odd d_model the table ends with a sine column, "
    "sin(pos / base^((d_model - 1)/d_model)), and there is no cosine after it.",
    "divide_by_even_width": "The exponent divides by d_model + 1 for an odd d_model (the width rounded up to even "
    "and then cut): the exponent always divides by d_model itself, 2i/d_model.",
    "swapped": "The table matches sine and cosine swapped (cos in the even columns): PE[:, 2i] = sin and "
    "PE[:, 2i+1] = cos.",
    "positive_exponent": "The table matches pos · base^(2i/d_model), the frequencies growing: the angle is "
    "pos / base^(2i/d_model), frequencies from 1 down to about 1/base.",
    "base_ignored": "The table matches base 10000 whatever base is passed: use the base argument.",
    "no_log": "The table matches exp(-2i/d_model) without ln(base): base^(-2i/d_model) = exp(-2i·ln(base)/d_model).",
    "integer_division": "The table matches the exponent 2i // d_model (integer division, 0 for every column): "
    "divide as floats, 2i / d_model.",
    "from_one": "The table matches positions numbered from 1: the rows are position 0, 1, ..., max_len - 1 (the "
    "first row is [0, 1, 0, 1, ...]).",
}


def _close(got, want, max_len):
    bound = 1e-4 + 2e-7 * np.arange(max_len)[:, None]
    return got.shape == want.shape and bool(np.all(np.abs(got - want) <= bound))


def diagnose(got, max_len, d_model, base):
    """The typical mistake the table matches, in the learner's words, or ''."""
    got = np.asarray(got.detach().cpu().double().numpy() if hasattr(got, "detach") else got, dtype=np.float64)
    want = table(max_len, d_model, base)
    if _close(got, want, max_len):
        return ""
    for name, message in MISTAKES.items():
        wrong = table(max_len, d_model, base, mistake=name)
        if _close(wrong, want, max_len):
            continue  # this case cannot tell the mistake apart
        if _close(got, wrong, max_len):
            return message
    return ""


# ---------------------------------------------------------------- calling the submission


def odd_width_crash(sub, max_len, d_model):
    """Why a call failed, where it fails for this odd d_model but not for d_model + 1, or ''."""
    if d_model % 2 == 0:
        return ""
    try:
        sub.sinusoidal_positional_encoding(max_len, d_model + 1)
    except Exception:  # noqa: BLE001 - it fails for even widths too: not this mistake
        return ""
    return (
        "The call fails for an odd d_model: there is one more sine column than cosine columns, so "
        "pe[:, 1::2] = cos(angles) does not fit; use the first d_model // 2 angles for the cosines."
    )


def call(sub, max_len, d_model, base=None):
    """The learner's table and the call's text."""
    __tracebackhide__ = True
    text = f"sinusoidal_positional_encoding({max_len}, {d_model}" + (")" if base is None else f", base={base})")
    with diagnosing(lazy(odd_width_crash, sub, max_len, d_model)):
        got = (
            sub.sinusoidal_positional_encoding(max_len, d_model)
            if base is None
            else (sub.sinusoidal_positional_encoding(max_len, d_model, base=base))
        )
    return got, text


def check_table(got, text, max_len, d_model, base=10000.0, *, hint=""):
    """float32 on the CPU, [max_len, d_model], within 1e-5 + 1e-7·pos of the float64 formula."""
    __tracebackhide__ = True
    check(hasattr(got, "detach"), f"{text} should return a torch tensor, got {type(got).__name__}.")
    dtype = str(got.dtype).removeprefix("torch.")
    check(
        got.dtype == torch.float32,
        f"{text} returned dtype {dtype}, expected float32.",
        diagnosis="The table is float64 (or another dtype): return it in float32, .to(torch.float32) (computing in "
        "float64 inside is fine)."
        if got.dtype != torch.float32
        else "",
    )
    shape = list(got.shape)
    shape_why = ""
    if shape == [d_model, max_len] and max_len != d_model:
        shape_why = "The table is transposed, [d_model, max_len]: one row per position, [max_len, d_model]."
    elif shape == [1, max_len, d_model]:
        shape_why = "The table has a batch dimension, [1, max_len, d_model]: return [max_len, d_model]."
    check(
        shape == [max_len, d_model],
        f"{text} returned shape {shape}, expected [max_len, d_model] = {[max_len, d_model]}.",
        diagnosis=shape_why,
    )
    want = torch.from_numpy(table(max_len, d_model, base))
    why = lazy(diagnose, got, max_len, d_model, base)
    check_close(
        got,
        want,
        what=text,
        rtol=0,
        atol=ATOL + PER_POSITION * (max_len - 1),
        dtype=torch.float32,
        device="cpu",
        hint=hint,
        diagnosis=why,
    )
    error = (got.detach().double() - want).abs()
    bound = ATOL + PER_POSITION * torch.arange(max_len, dtype=torch.float64)[:, None]
    bad = (error > bound).nonzero()
    if len(bad):
        pos, col = (int(v) for v in bad[0])
        fail(
            f"{text}: PE[{pos}, {col}] is {float(got[pos, col]):.8g}, expected {float(want[pos, col]):.8g} (tolerance "
            f"{float(bound[pos, 0]):.2g} at position {pos}). {hint}",
            diagnosis=why,
        )


# ---------------------------------------------------------------- values


@public
def test_prompt_example(sub):
    """The prompt's examples: (3, 4) and (3, 5, base=100.0), also to 4 decimals"""
    got, text = call(sub, 3, 4)
    check_table(got, text, 3, 4)
    got, text = call(sub, 3, 5, base=100.0)
    check_table(got, text, 3, 5, 100.0)
    hand = torch.tensor(
        [[0.0, 1.0, 0.0, 1.0, 0.0], [0.8415, 0.5403, 0.1578, 0.9875, 0.0251], [0.9093, -0.4161, 0.3117, 0.9502, 0.0502]]
    )
    check_close(
        got, hand, what=f"{text} (to 4 decimals)", rtol=0, atol=1e-4, diagnosis=lazy(diagnose, got, 3, 5, 100.0)
    )


@public
@pytest.mark.parametrize("max_len, d_model", [(50, 64), (7, 2), (20, 6), (1024, 512), (100, 128)], ids=lambda v: str(v))
def test_even_widths(sub, max_len, d_model):
    """Even d_model, default base, positions up to 1023"""
    got, text = call(sub, max_len, d_model)
    check_table(got, text, max_len, d_model)


@pytest.mark.parametrize("max_len, d_model", [(10, 1), (9, 3), (16, 7), (300, 65), (1, 5)], ids=lambda v: str(v))
def test_odd_widths(sub, max_len, d_model):
    """Odd d_model: the last column is a sine, the exponent still over d_model (d_model = 1 is sin(pos))"""
    got, text = call(sub, max_len, d_model)
    check_table(got, text, max_len, d_model, hint="An odd d_model ends with a sine column.")


def test_one_position(sub):
    """max_len = 1: the single row [0, 1, 0, 1, ...] of position 0"""
    got, text = call(sub, 1, 8)
    check_table(got, text, 1, 8)


@pytest.mark.parametrize("base", [100.0, 1e6, 2.5, 500, 1.0], ids=lambda v: f"base{v}")
def test_other_bases(sub, base):
    """Other bases, a float or an int (base 1 gives every column the frequency 1)"""
    got, text = call(sub, 64, 16, base=base)
    check_table(got, text, 64, 16, base)


def test_rows_do_not_depend_on_max_len(sub):
    """PE(40, 12) equals the first 40 rows of PE(200, 12): a row depends only on its position"""
    short, short_text = call(sub, 40, 12)
    long, long_text = call(sub, 200, 12)
    check_table(long, long_text, 200, 12)
    check_close(
        short,
        long[:40],
        what=f"{short_text} compared with the first 40 rows of {long_text}",
        rtol=0,
        atol=1e-6,
        diagnosis=lazy(diagnose, short, 40, 12, 10000.0),
        hint="A row depends only on its position, not on max_len.",
    )


def test_relative_offsets(sub):
    """PE[p]·PE[p + 3] is the same for p = 5, 20, 100 (Σ cos(3·ω_i)) for d_model = 8"""
    got, text = call(sub, 128, 8)
    check_table(got, text, 128, 8)
    want = float(sum(math.cos(3 * 10000.0 ** (-2 * i / 8)) for i in range(4)))
    for p in (5, 20, 100):
        dot = float(got[p].double() @ got[p + 3].double())
        check(
            abs(dot - want) < 1e-4,
            f"{text}: PE[{p}]·PE[{p + 3}] = {dot:.6f}, expected Σ_i cos(3·ω_i) = {want:.6f} for every p.",
            diagnosis=lazy(diagnose, got, 128, 8, 10000.0),
        )


@settings(
    derandomize=True,
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    report_multiple_bugs=False,
)
@given(
    max_len=st.integers(1, 200),
    d_model=st.integers(1, 40),
    base=st.sampled_from([10000.0, 100.0, 2.0, 1e5]),
)
def test_random_sizes(sub, max_len, d_model, base):
    """Random max_len ≤ 200, d_model ≤ 40 and bases"""
    got, text = call(sub, max_len, d_model, base=base)
    check_table(got, text, max_len, d_model, base)


# ---------------------------------------------------------------- errors

NOT_CHECKED = "Non-positive sizes are not rejected: raise ValueError when max_len <= 0 or d_model <= 0."
BASE_NOT_CHECKED = (
    "base <= 0 is not rejected: raise ValueError unless base > 0 (a power of a non-positive base gives nan or inf)."
)


def if_valid_calls_work(sub, diagnosis):
    """``diagnosis`` where a valid call (8, 4) returns a table, or '' (then the failure is not about the check)."""
    try:
        sub.sinusoidal_positional_encoding(8, 4)
    except Exception:  # noqa: BLE001 - it fails everywhere: not this mistake
        return ""
    return diagnosis


@pytest.mark.parametrize(
    "max_len, d_model", [(0, 8), (-3, 8), (8, 0), (8, -2)], ids=["max_len0", "max_len_neg", "d_model0", "d_model_neg"]
)
def test_non_positive_sizes_raise_value_error(sub, max_len, d_model):
    """max_len ≤ 0 or d_model ≤ 0 -> ValueError"""
    expect_raises(
        ValueError,
        sub.sinusoidal_positional_encoding,
        max_len,
        d_model,
        call=f"sinusoidal_positional_encoding({max_len}, {d_model})",
        diagnosis=lazy(if_valid_calls_work, sub, NOT_CHECKED),
    )


@pytest.mark.parametrize("base", [0.0, -10000.0], ids=["base0", "base_neg"])
def test_non_positive_base_raises_value_error(sub, base):
    """base ≤ 0 -> ValueError"""
    expect_raises(
        ValueError,
        sub.sinusoidal_positional_encoding,
        8,
        4,
        base=base,
        call=f"sinusoidal_positional_encoding(8, 4, base={base})",
        diagnosis=lazy(if_valid_calls_work, sub, BASE_NOT_CHECKED),
    )
