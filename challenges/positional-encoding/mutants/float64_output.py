"""Computes in float64 and returns the float64 table instead of float32.

Diagnosis: float64
"""

import torch


def sinusoidal_positional_encoding(max_len: int, d_model: int, base: float = 10000.0) -> torch.Tensor:
    """The [max_len, d_model] table of sinusoidal positional encodings, float32 on the CPU."""
    if max_len <= 0 or d_model <= 0:
        raise ValueError(f"max_len and d_model must be positive, got max_len={max_len}, d_model={d_model}")
    if not base > 0:
        raise ValueError(f"base must be positive, got {base}")
    positions = torch.arange(max_len, dtype=torch.float64)  # [max_len]: 0, 1, ..., max_len - 1
    even = torch.arange(0, d_model, 2, dtype=torch.float64)  # [ceil(d/2)]: the column indices 2i
    inv_freq = float(base) ** (-even / d_model)  # [ceil(d/2)]: 1 / base^(2i/d_model)
    angles = positions[:, None] * inv_freq[None, :]  # [max_len, ceil(d/2)]
    pe = torch.empty(max_len, d_model, dtype=torch.float64)
    pe[:, 0::2] = torch.sin(angles)  # columns 0, 2, 4, ...: ceil(d/2) of them
    pe[:, 1::2] = torch.cos(angles[:, : d_model // 2])  # columns 1, 3, ...: floor(d/2) (no cosine after the last sine)
    return pe
