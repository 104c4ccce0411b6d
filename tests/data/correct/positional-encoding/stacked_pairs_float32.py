"""Correct, written differently from the reference: computes the angles in float32 with the
tutorial's exp(-2i·ln(base)/d_model) form, builds every (sin, cos) pair with torch.stack on a
last axis and flattens it (which interleaves the columns), then drops the trailing cosine
when d_model is odd, instead of float64 and writing the even and odd columns by slicing."""

import math

import torch


def sinusoidal_positional_encoding(max_len, d_model, base=10000.0):
    if not (max_len > 0 and d_model > 0):
        raise ValueError("max_len and d_model must be positive")
    if not base > 0:
        raise ValueError("base must be positive")
    pairs = (d_model + 1) // 2
    pos = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
    freq = torch.exp(torch.arange(pairs, dtype=torch.float32) * (-2.0 * math.log(base) / d_model))
    angle = pos * freq
    table = torch.stack((angle.sin(), angle.cos()), dim=-1).reshape(max_len, 2 * pairs)
    return table[:, :d_model].contiguous()
