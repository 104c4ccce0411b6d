"""Wrong: numbers the positions 1, ..., max_len instead of 0, ..., max_len - 1, so the
first row is not [0, 1, 0, 1, ...].

Diagnosis: position 0
"""

import torch


def sinusoidal_positional_encoding(max_len, d_model, base=10000.0):
    if max_len <= 0 or d_model <= 0 or base <= 0:
        raise ValueError("sizes and base must be positive")
    pos = torch.arange(1, max_len + 1, dtype=torch.float64)[:, None]
    col = torch.arange(d_model, dtype=torch.float64)[None, :]
    angle = pos / base ** ((col - col % 2) / d_model)
    pe = torch.where(col % 2 == 0, torch.sin(angle), torch.cos(angle))
    return pe.float()
