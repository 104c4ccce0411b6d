"""Ignores the positions passed in and rotates row t by t.

Diagnosis: positions ignored
"""

import torch


def apply_rotary(x: torch.Tensor, positions: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    """Rotate each interleaved pair (x[..., 2i], x[..., 2i+1]) of x [..., L, d] by the angle
    θ = positions[t] · base^(−2i/d), counter-clockwise. Returns a new tensor of x's dtype and device."""
    if x.dim() < 2:
        raise ValueError(f"x must have shape [..., L, d], got {list(x.shape)}")
    L, d = x.shape[-2], x.shape[-1]
    if d % 2 != 0:
        raise ValueError(f"the last dimension d must be even, got {d}")
    if positions.dim() != 1 or positions.shape[0] != L:
        raise ValueError(f"positions must have shape [L] = [{L}], got {list(positions.shape)}")
    if not base > 0:
        raise ValueError(f"base must be positive, got {base}")
    # Angles in float64 at least (float32 for low-precision x would also do at positions < 256).
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    i = torch.arange(0, d, 2, device=x.device, dtype=torch.float64)  # 2i, [d/2]
    freqs = (float(base) ** (-i / d)).to(work)  # base^(−2i/d), [d/2]
    theta = torch.arange(L, device=x.device, dtype=work)[:, None] * freqs  # [L, d/2]
    cos, sin = torch.cos(theta), torch.sin(theta)
    xw = x.to(work)
    even, odd = xw[..., 0::2], xw[..., 1::2]  # [..., L, d/2] each
    out_even = even * cos - odd * sin
    out_odd = even * sin + odd * cos
    out = torch.stack([out_even, out_odd], dim=-1).flatten(-2)  # interleave back: [..., L, d]
    return out.to(x.dtype)
