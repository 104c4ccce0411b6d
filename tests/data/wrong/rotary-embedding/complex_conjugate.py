"""Written from the prompt with complex numbers, but multiplies by e^{-iθ} (the conjugate of the
polar factor), which turns every pair clockwise.

Diagnosis: other direction
"""

import torch


def apply_rotary(x, positions, base=10000.0):
    if x.dim() < 2:
        raise ValueError("x must be [..., L, d]")
    L, d = x.shape[-2:]
    if d % 2 or positions.dim() != 1 or len(positions) != L or base <= 0:
        raise ValueError("bad arguments")
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    freqs = base ** (-torch.arange(0, d, 2, dtype=work, device=x.device) / d)
    theta = positions.to(x.device, work)[:, None] * freqs
    z = torch.view_as_complex(x.to(work).reshape(*x.shape[:-1], d // 2, 2).contiguous())
    z = z * torch.polar(torch.ones_like(theta), theta).conj()
    return torch.view_as_real(z).flatten(-2).to(x.dtype)
