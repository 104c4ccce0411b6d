"""Mutant: fit_power_law_offset accepts 2 points (the same minimum as the plain fit).

Diagnosis: fewer than 3 points
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0  # 0.618...: the golden-section shrink factor


def _as_points(
    x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray, min_points: int
) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` as float64 arrays of shape (n,); ValueError unless the data are valid."""
    x = np.asarray(x, dtype=np.float64)  # (n,)
    y = np.asarray(y, dtype=np.float64)  # (n,)
    if x.ndim != 1 or y.ndim != 1:
        raise ValueError(f"x and y must be 1-D, got shapes {x.shape} and {y.shape}")
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    if len(x) < min_points:
        raise ValueError(f"need at least {min_points} points, got {len(x)}")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("every x and y must be > 0 (a power law lives on the positive axis)")
    return x, y


def _line_fit(t: np.ndarray, s: np.ndarray) -> tuple[float, float, np.ndarray]:
    """Ordinary least squares ``s ≈ intercept + slope * t``: (intercept, slope, residuals (n,))."""
    dt = t - t.mean()  # (n,)
    slope = float(dt @ (s - s.mean()) / (dt @ dt))
    intercept = float(s.mean() - slope * t.mean())
    return intercept, slope, s - (intercept + slope * t)  # residuals: (n,)


def _golden_min(f, lo: float, hi: float) -> float:
    """The minimiser of a unimodal ``f`` on [lo, hi] by golden-section search, to float resolution."""
    inner_lo, inner_hi = hi - GOLDEN * (hi - lo), lo + GOLDEN * (hi - lo)
    f_lo, f_hi = f(inner_lo), f(inner_hi)
    while hi - lo > 1e-15 * max(1.0, abs(lo)):  # the bracket shrinks by 0.618 a step
        if f_lo <= f_hi:  # the minimum lies in [lo, inner_hi]
            hi, inner_hi, f_hi = inner_hi, inner_lo, f_lo
            inner_lo = hi - GOLDEN * (hi - lo)
            f_lo = f(inner_lo)
        else:  # the minimum lies in [inner_lo, hi]
            lo, inner_lo, f_lo = inner_lo, inner_hi, f_hi
            inner_hi = lo + GOLDEN * (hi - lo)
            f_hi = f(inner_hi)
    return (lo + hi) / 2.0


def fit_power_law(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Fit ``y ≈ a * x**(-alpha)`` by least squares on ``log y`` against ``log x``.

    x, y: 1-D lists or arrays of n >= 2 positive numbers. Returns (a, alpha) as floats.
    """
    x, y = _as_points(x, y, min_points=2)
    intercept, slope, _ = _line_fit(np.log(x), np.log(y))
    return math.exp(intercept), -slope  # log y = log a - alpha log x


def fit_power_law_offset(
    x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray
) -> tuple[float, float, float]:
    """Fit ``y = a * x**(-alpha) + c`` (0 < c < min y) to noise-free data.

    For a candidate c the points (log x, log(y - c)) lie on a line exactly when c is
    right, so we minimise the squared residuals of that line fit over c. We search the
    gap ``g = min(y) - c`` on a log scale (the true gap may be tiny next to c): a grid
    over 40 e-folds finds the valley, golden-section search pins down its bottom.
    x, y: 1-D lists or arrays of n >= 3 positive numbers. Returns (a, alpha, c) as floats.
    """
    x, y = _as_points(x, y, min_points=2)
    log_x = np.log(x)  # (n,)
    y_min = float(y.min())
    above_min = y - y_min  # (n,), exact: y - c = above_min + gap

    def misfit(u: float) -> float:
        """Squared residuals of the line through (log x, log(y - c)) with c = y_min - e**u."""
        _, _, residuals = _line_fit(log_x, np.log(above_min + math.exp(u)))  # (n,)
        return float(residuals @ residuals)

    top = math.log(y_min)  # u = top is c = 0; u -> -inf is c -> y_min
    grid = np.linspace(top - 40.0, top, 401)  # (401,), steps of 0.1 in log(gap)
    values = np.array([misfit(u) for u in grid])  # (401,)
    padded = np.concatenate([[np.inf], values, [np.inf]])  # (403,)
    valleys = np.flatnonzero((values <= padded[:-2]) & (values <= padded[2:]))  # local minima
    # the profile can have a shallow second valley (towards c = 0): refine every valley, keep the best
    bottoms = [_golden_min(misfit, grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]) for i in valleys]
    gap = math.exp(min(bottoms, key=misfit))
    intercept, slope, _ = _line_fit(log_x, np.log(above_min + gap))
    return math.exp(intercept), -slope, y_min - gap


def compute_optimal(flops: float, tokens_per_param: float = 20.0) -> tuple[float, float]:
    """Split a compute budget into parameters N and tokens D with 6·N·D = flops and D = r·N.

    flops: training compute C > 0; tokens_per_param: r > 0 (Chinchilla: about 20).
    Then C = 6 r N², so N = sqrt(C / (6 r)) and D = r N. Returns (N, D) as floats.
    """
    if not flops > 0:
        raise ValueError(f"flops must be > 0, got {flops!r}")
    if not tokens_per_param > 0:
        raise ValueError(f"tokens_per_param must be > 0, got {tokens_per_param!r}")
    params = math.sqrt(flops / (6.0 * tokens_per_param))
    return params, tokens_per_param * params
