"""Written from the prompt with a loop over pairs; builds the angles from positions.long(), so
fractional positions are truncated to integers.

Diagnosis: rounded to integers
"""

import torch


def apply_rotary(x, positions, base=10000.0):
    if x.dim() < 2 or x.shape[-1] % 2 == 1 or positions.shape != (x.shape[-2],) or base <= 0:
        raise ValueError("bad arguments")
    d = x.shape[-1]
    work = torch.float64 if x.dtype == torch.float64 else torch.float32
    pos = positions.long().to(device=x.device, dtype=work)
    xw = x.to(work)
    cols = []
    for i in range(d // 2):
        theta = pos * base ** (-2 * i / d)
        c, s = torch.cos(theta), torch.sin(theta)
        a, b = xw[..., 2 * i], xw[..., 2 * i + 1]
        cols += [a * c - b * s, a * s + b * c]
    return torch.stack(cols, dim=-1).to(x.dtype)
