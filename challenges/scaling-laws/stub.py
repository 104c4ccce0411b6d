"""Fitting scaling laws: fill in the three functions (numpy only)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def fit_power_law(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> tuple[float, float]:
    """Fit y ≈ a * x**(-alpha) by ordinary least squares of log y against log x.

    x, y: 1-D lists, tuples or arrays of n >= 2 numbers, all > 0 (else ValueError; also
        ValueError for different lengths).
    Returns (a, alpha) as floats: a = exp(intercept), alpha = -slope of the log-log line.
    The inputs are not modified.
    """
    raise NotImplementedError


def fit_power_law_offset(
    x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray
) -> tuple[float, float, float]:
    """Fit y = a * x**(-alpha) + c (a > 0, alpha > 0, 0 < c < min(y)) to noise-free data.

    x, y: 1-D lists, tuples or arrays of n >= 3 numbers, all > 0 (else ValueError; also
        ValueError for different lengths).
    Returns (a, alpha, c) as floats, each accurate to 1e-6 relative on the graded cases.
    The inputs are not modified.
    """
    raise NotImplementedError


def compute_optimal(flops: float, tokens_per_param: float = 20.0) -> tuple[float, float]:
    """Split a compute budget into (params N, tokens D) with flops = 6 * N * D and D = tokens_per_param * N.

    flops, tokens_per_param: numbers > 0 (else ValueError).
    Returns (N, D) as floats.
    """
    raise NotImplementedError
