"""Written from the prompt alone: masks with a finite -1e9, so a query whose keys are all
masked gets uniform weights over them (and their values) instead of zero weights.

Diagnosis: fully masked query gets non-zero weights
"""

import math

import torch
from torch import nn


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, num_heads, bias=True):
        super().__init__()
        if d_model % num_heads != 0:
            raise ValueError(f"{d_model} is not divisible by {num_heads}")
        self.h, self.dk = num_heads, d_model // num_heads
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d_model, d_model, bias) for _ in range(4))

    def forward(self, query, key, value, key_padding_mask=None, causal=False):
        d = self.h * self.dk
        if any(t.dim() != 3 or t.size(2) != d for t in (query, key, value)):
            raise ValueError("bad input shape")
        if not query.size(0) == key.size(0) == value.size(0) or key.size(1) != value.size(1):
            raise ValueError("batch or length mismatch")
        B, Lq, Lk = query.size(0), query.size(1), key.size(1)
        if key_padding_mask is not None and list(key_padding_mask.shape) != [B, Lk]:
            raise ValueError("bad mask shape")
        if causal and Lq > Lk:
            raise ValueError("Lq > Lk")

        def split(x):
            return x.reshape(B, -1, self.h, self.dk).permute(0, 2, 1, 3)

        q, k, v = split(self.q_proj(query)), split(self.k_proj(key)), split(self.v_proj(value))
        s = q @ k.transpose(2, 3) / math.sqrt(self.dk)
        if key_padding_mask is not None:
            s = s.masked_fill(key_padding_mask[:, None, None, :], -1e9)
        if causal:
            future = torch.triu(torch.ones(Lq, Lk, dtype=torch.bool, device=s.device), diagonal=Lk - Lq + 1)
            s = s.masked_fill(future, -1e9)
        w = torch.softmax(s, dim=-1)
        o = (w @ v).permute(0, 2, 1, 3).reshape(B, Lq, d)
        return self.out_proj(o), w
