"""Wrong: the usual tutorial code, pe[:, 1::2] = cos(position * div_term), which assumes an
even d_model: with an odd d_model there are fewer cosine columns than frequencies, and the
assignment raises a RuntimeError.

Diagnosis: odd d_model
"""

import math

import torch


def sinusoidal_positional_encoding(max_len, d_model, base=10000.0):
    if max_len <= 0 or d_model <= 0 or base <= 0:
        raise ValueError("sizes and base must be positive")
    position = torch.arange(max_len, dtype=torch.float32).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(base) / d_model))
    pe = torch.zeros(max_len, d_model)
    pe[:, 0::2] = torch.sin(position * div_term)
    pe[:, 1::2] = torch.cos(position * div_term)
    return pe
