"""Wrong: the logits are taken with ``np.asarray(logits)`` and computed in their own dtype,
so a float32 array gives a float32 result instead of float64.

Diagnosis: float64
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure


def softmax_with_temperature(logits, temperature: float) -> np.ndarray:
    t = float(temperature)
    if math.isnan(t) or t < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature!r}")
    x = np.asarray(logits)
    if x.dtype.kind in "iub":
        x = x.astype(np.float64)
    allowed = x > -np.inf
    if not allowed.any(axis=-1).all():
        raise ValueError("a row is all -inf")
    if t == 0:
        out = np.zeros_like(x)
        np.put_along_axis(out, np.argmax(x, axis=-1)[..., None], 1.0, axis=-1)
        return out
    if math.isinf(t):
        return (allowed / allowed.sum(axis=-1, keepdims=True)).astype(x.dtype)
    e = np.exp((x - x.max(axis=-1, keepdims=True)) / x.dtype.type(t))
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
