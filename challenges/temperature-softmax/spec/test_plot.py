"""Specs for plot_temperature_effect: one axes, one line per temperature in the given
order, y = the probabilities over x = token indices 0..V-1, a legend naming each
temperature, axis labels and a title. Figures arrive as `FigureSummary`s."""

import math

import numpy as np
import pytest

from grader.spec import (
    FigureSummary,
    RemoteException,
    check,
    check_close,
    check_unchanged_inputs,
    describe_value,
    fail,
    public,
)

LOGITS = [2.0, 1.0, 0.1, -0.5, 1.5]
TEMPS = [1.5, 0.25, 4.0]  # deliberately not sorted: lines must follow the given order


def oracle(logits, t):
    """softmax(logits / t) in float64; t = 0 is a one-hot at the first maximum."""
    x = np.asarray(logits, dtype=np.float64)
    if t == 0:
        out = np.zeros_like(x)
        out[np.argmax(x)] = 1.0
        return out
    e = np.exp((x - x.max()) / t)
    return e / e.sum()


def names_for(t):
    """The spellings of ``t`` a label may contain."""
    return {str(t), f"{t:g}"}


def the_axes(sub, logits=LOGITS, temps=TEMPS):
    """The one axes of the figure the submission returns (fails otherwise)."""
    __tracebackhide__ = True
    fig = sub.plot_temperature_effect(logits, temps)
    if not isinstance(fig, FigureSummary):
        got = describe_value(fig)
        mistake = "the axes is returned instead of the figure" if "Axes" in got else f"{got} is returned"
        fail(
            f"plot_temperature_effect({list(logits)}, {list(temps)}) returned {got}, not a matplotlib Figure.",
            diagnosis=f"{mistake}: return the Figure itself (fig, ax = plt.subplots(); ...; return fig).",
        )
    check(len(fig.axes) == 1, f"the figure should have exactly one axes, but it has {len(fig.axes)}")
    ax = fig.axes[0]
    check(
        len(ax.lines) == len(temps),
        f"the axes should hold one line per temperature ({len(temps)} for temperatures {list(temps)}), "
        f"but it holds {len(ax.lines)}. Draw each distribution with a single ax.plot call.",
    )
    return ax


@public
def test_figure_has_one_axes_with_labels(sub):
    ax = the_axes(sub)
    check(ax.xlabel.strip() != "", "the axes needs an x-axis label (ax.set_xlabel)")
    check(ax.ylabel.strip() != "", "the axes needs a y-axis label (ax.set_ylabel)")
    check(ax.title.strip() != "", "the axes needs a title (ax.set_title)")


def test_lines_are_the_distributions_in_order(sub):
    """Line i has x = 0..V-1 and y = softmax(logits / temperatures[i])."""
    ax = the_axes(sub)
    v = len(LOGITS)
    for i, (t, line) in enumerate(zip(TEMPS, ax.lines)):
        from_one = np.array_equal(np.asarray(line.x, dtype=np.float64), np.arange(1, v + 1, dtype=np.float64))
        check_close(
            line.x,
            np.arange(v, dtype=np.float64),
            what=f"the x data of line {i}",
            inputs=f"logits {LOGITS}, temperatures {TEMPS}",
            hint="x should be the token indices 0..V-1.",
            diagnosis="the tokens are numbered from 1: x is the token indices 0..V-1." if from_one else "",
            rtol=0,
            atol=0,
        )
        others = [j for j, u in enumerate(TEMPS) if j != i and np.allclose(line.y, oracle(LOGITS, u), atol=1e-6)]
        in_order = sorted(TEMPS) if others and TEMPS[others[0]] == sorted(TEMPS)[i] else None
        check_close(
            line.y,
            oracle(LOGITS, t),
            what=f"the y data of line {i} (temperature {t})",
            inputs=f"logits {LOGITS}, temperatures {TEMPS}",
            hint=f"y should be softmax_with_temperature(logits, {t}).",
            diagnosis=(
                f"the lines are drawn in sorted order {in_order}, not in the order given: line {i} shows "
                f"temperature {TEMPS[others[0]]}."
                if in_order
                else f"line {i} shows the distribution of temperature {TEMPS[others[0]]}: draw the lines in the "
                "order given."
                if others
                else ""
            ),
            rtol=1e-6,
            atol=1e-9,
        )


def test_legend_labels_name_each_temperature(sub):
    """The legend's i-th label contains temperature i, e.g. "T = 0.25"."""
    ax = the_axes(sub)
    check(
        len(ax.legend) == len(TEMPS),
        f"the axes should have a legend with one entry per temperature ({len(TEMPS)}), "
        f"but it has {len(ax.legend)} entries. Temperatures: {TEMPS}.",
        diagnosis=(
            "the axes has no legend: call ax.legend() after plotting the lines with label=..." if not ax.legend else ""
        ),
    )
    for i, (t, label) in enumerate(zip(TEMPS, ax.legend)):
        check(
            any(name in label for name in names_for(t)),
            f"legend entry {i} is {label!r}, which does not contain its temperature {t} "
            f"(as {' or '.join(repr(n) for n in sorted(names_for(t)))}). Temperatures: {TEMPS}.",
            diagnosis=(
                "the legend labels do not contain the temperatures: label each line with its temperature, "
                'e.g. label=f"T = {t:g}".'
                if not any(name in text for text in ax.legend for u in TEMPS for name in names_for(u))
                else ""
            ),
        )


@pytest.mark.parametrize("temps", [[0, 1, 2.5], [0.5, math.inf]], ids=["zero", "inf"])
def test_limit_temperatures(sub, temps):
    """T = 0 draws the one-hot, T = inf the uniform distribution."""
    logits = [0.3, 1.2, -0.7, 1.2]
    ax = the_axes(sub, logits, temps)
    for i, (t, line) in enumerate(zip(temps, ax.lines)):
        expected = np.full(len(logits), 0.25) if math.isinf(t) else oracle(logits, t)
        check_close(
            line.y,
            expected,
            what=f"the y data of line {i} (temperature {t})",
            inputs=f"logits {logits}, temperatures {temps}",
            rtol=1e-6,
            atol=1e-9,
        )


def test_plot_accepts_ndarray_and_leaves_it_alone(sub):
    x = np.array(LOGITS)
    ax = the_axes(sub, x, [1.0])
    check_close(ax.lines[0].y, oracle(LOGITS, 1.0), what="the y data for ndarray logits", rtol=1e-6, atol=1e-9)
    check_unchanged_inputs(sub, ["logits", "temperatures"])


def test_plot_rejects_negative_temperature(sub):
    """a negative temperature raises ValueError"""
    call = f"plot_temperature_effect({LOGITS}, [1.0, -0.5])"
    try:
        fig = sub.plot_temperature_effect(LOGITS, [1.0, -0.5])
    except ValueError:
        return
    except RemoteException as exc:
        fail(f"{call} should raise ValueError, but it raised {exc.type_name}: {exc.remote_message[:200]}")
    got = "a Figure" if isinstance(fig, FigureSummary) else describe_value(fig)
    fail(
        f"{call} should raise ValueError, but it returned {got}.",
        diagnosis="a negative temperature is accepted: raise ValueError when t < 0.",
    )
