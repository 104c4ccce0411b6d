"""Softmax with temperature: fill in both functions (numpy and matplotlib)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure


def softmax_with_temperature(logits, temperature: float) -> np.ndarray:
    """Softmax of ``logits / temperature`` over the last axis.

    logits: a list or ndarray of shape (..., V), V = vocabulary size.
    temperature: a Python float or int, >= 0. 0 -> one-hot at the first maximum of each row;
        float("inf") -> uniform over the tokens whose logit is not -inf; < 0 or nan -> ValueError.
    Returns a float64 ndarray of shape (..., V); every row sums to 1.
    A row whose logits are all -inf -> ValueError. The input is not modified.
    """
    raise NotImplementedError


def plot_temperature_effect(logits, temperatures: Sequence[float]) -> Figure:
    """Plot the distribution softmax_with_temperature(logits, t) for each t.

    logits: a list or ndarray of shape (V,).
    temperatures: a sequence of temperatures, drawn in the given order.
    Returns a matplotlib Figure with one axes holding one line per temperature
    (x = token indices 0..V-1, y = the probabilities), a legend whose labels contain the
    temperature (e.g. "T = 0.5"), axis labels and a title.
    """
    raise NotImplementedError
