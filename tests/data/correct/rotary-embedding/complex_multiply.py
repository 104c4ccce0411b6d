"""A second correct apply_rotary: each interleaved pair is viewed as one complex number
(torch.view_as_complex on a [..., L, d/2, 2] view) and multiplied by e^{iθ} built with torch.polar,
the frequencies computed as exp(−(2i/d)·ln base) instead of a power, instead of the reference's
even/odd slices, explicit cos/sin formulas and torch.stack."""

import math

import torch


def apply_rotary(x, positions, base=10000.0):
    if x.dim() < 2:
        raise ValueError("x must have at least 2 dimensions [..., L, d]")
    *lead, L, d = x.shape
    if d % 2:
        raise ValueError("d must be even")
    if tuple(positions.shape) != (L,):
        raise ValueError("positions must have shape [L]")
    if base <= 0:
        raise ValueError("base must be > 0")
    real = torch.float64 if x.dtype == torch.float64 else torch.float32
    two_i = torch.arange(0, d, 2, dtype=torch.float64, device=x.device)
    inv_freq = torch.exp(-two_i / d * math.log(base)).to(real)  # [d/2]
    theta = torch.outer(positions.to(x.device, real), inv_freq)  # [L, d/2]
    rot = torch.polar(torch.ones_like(theta), theta)  # e^{iθ}, complex [L, d/2]
    z = torch.view_as_complex(x.to(real).reshape(*lead, L, d // 2, 2).contiguous())
    return torch.view_as_real(z * rot).reshape(*lead, L, d).to(x.dtype)
