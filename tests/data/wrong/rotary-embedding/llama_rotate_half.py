"""Written from the prompt the way Hugging Face's Llama code does it: cos/sin tables of width d
(each frequency repeated for the two halves) and rotate_half, which pairs feature i with i + d/2.

Diagnosis: rotate-half layout
"""

import torch


def rotate_half(x):
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([-x2, x1], dim=-1)


def apply_rotary(x, positions, base=10000.0):
    if x.dim() < 2 or x.shape[-1] % 2 or positions.shape != (x.shape[-2],) or base <= 0:
        raise ValueError("bad arguments")
    d = x.shape[-1]
    inv_freq = 1.0 / (base ** (torch.arange(0, d, 2, device=x.device).float() / d))
    freqs = torch.outer(positions.to(x.device).float(), inv_freq)
    emb = torch.cat([freqs, freqs], dim=-1)
    out = x.float() * emb.cos() + rotate_half(x.float()) * emb.sin()
    return out.to(x.dtype)
