"""Wrong: T = 0 is written as ``(x == x.max()) / count``, so when several logits tie for
the maximum they share the probability instead of the first one getting 1.

Diagnosis: first maximum
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure


def softmax_with_temperature(logits, temperature: float) -> np.ndarray:
    t = float(temperature)
    if math.isnan(t) or t < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature!r}")
    x = np.array(logits, dtype=np.float64)
    allowed = x > -np.inf
    if not allowed.any(axis=-1).all():
        raise ValueError("a row is all -inf")
    if t == 0:
        best = (x == x.max(axis=-1, keepdims=True)).astype(np.float64)
        return best / best.sum(axis=-1, keepdims=True)
    if math.isinf(t):
        return allowed / allowed.sum(axis=-1, keepdims=True)
    e = np.exp((x - x.max(axis=-1, keepdims=True)) / t)
    return e / e.sum(axis=-1, keepdims=True)


def plot_temperature_effect(logits, temperatures) -> Figure:
    x = np.asarray(logits, dtype=np.float64)
    fig = Figure()
    ax = fig.add_subplot()
    for t in temperatures:
        ax.plot(np.arange(len(x)), softmax_with_temperature(x, t), marker="o", label=f"T = {t:g}")
    ax.set_xlabel("token")
    ax.set_ylabel("probability")
    ax.set_title("Temperature")
    ax.legend()
    return fig
