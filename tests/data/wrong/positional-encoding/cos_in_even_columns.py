"""Wrong: the sine and cosine columns are swapped, cos in the even columns and sin in the
odd ones (so an odd d_model ends with a cosine too).

Diagnosis: swapped
"""

import torch


def sinusoidal_positional_encoding(max_len, d_model, base=10000.0):
    if max_len <= 0 or d_model <= 0 or base <= 0:
        raise ValueError("sizes and base must be positive")
    pos = torch.arange(max_len, dtype=torch.float64)[:, None]
    col = torch.arange(d_model, dtype=torch.float64)[None, :]
    angle = pos / base ** ((col - col % 2) / d_model)
    pe = torch.where(col % 2 == 0, torch.cos(angle), torch.sin(angle))
    return pe.float()
