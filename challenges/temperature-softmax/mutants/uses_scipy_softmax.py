"""Calls the forbidden scipy.special.softmax.

Diagnosis: does the work this challenge asks for
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from scipy.special import softmax


def _check_temperature(temperature: float) -> float:
    """``temperature`` as a float; ValueError unless it is ≥ 0 (inf allowed)."""
    t = float(temperature)
    if math.isnan(t) or t < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature!r}")
    return t


def softmax_with_temperature(logits, temperature: float) -> np.ndarray:
    """Softmax of ``logits / temperature`` over the last axis, in float64.

    logits: list or ndarray of shape (..., V); temperature: a number ≥ 0 (0 → one-hot at
    the first maximum, inf → uniform over the tokens whose logit is not -inf).
    Returns a float64 ndarray of shape (..., V) whose rows sum to 1.
    """
    t = _check_temperature(temperature)
    x = np.array(logits, dtype=np.float64)  # (..., V), a copy: the input is never touched
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ValueError(f"logits must have a non-empty last axis, got shape {x.shape}")
    allowed = x > -np.inf  # (..., V)
    if not allowed.any(axis=-1).all():
        raise ValueError("a row of logits is entirely -inf: no token can be chosen")
    if t == 0:
        first_max = np.argmax(x, axis=-1)[..., None]  # (..., 1), argmax picks the first maximum
        one_hot = np.zeros_like(x)  # (..., V)
        np.put_along_axis(one_hot, first_max, 1.0, axis=-1)
        return one_hot
    if math.isinf(t):
        return allowed / allowed.sum(axis=-1, keepdims=True)  # (..., V)
    return softmax(x / t, axis=-1)  # (..., V)


def plot_temperature_effect(logits, temperatures: Sequence[float]) -> Figure:
    """One line per temperature: the distribution over token indices 0..V-1.

    logits: list or ndarray of shape (V,); temperatures: numbers ≥ 0, drawn in this order.
    Returns a Figure with one axes, axis labels, a title and a legend "T = <t>".
    """
    x = np.asarray(logits, dtype=np.float64)  # (V,)
    if x.ndim != 1:
        raise ValueError(f"logits must be 1-D for the plot, got shape {x.shape}")
    tokens = np.arange(x.shape[0])  # (V,)
    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot()
    for t in temperatures:
        ax.plot(tokens, softmax_with_temperature(x, t), marker="o", label=f"T = {t:g}")
    ax.set_xlabel("token index")
    ax.set_ylabel("probability")
    ax.set_title("How temperature reshapes the softmax")
    ax.legend()
    return fig
