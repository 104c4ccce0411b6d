"""Written from the prompt alone, with einsum: scales the scores by 1/√d_model instead of 1/√head_dim.

Diagnosis: scaled by 1/√d_model
"""

import math

import torch
from torch import nn


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, num_heads, bias=True):
        super().__init__()
        if d_model % num_heads:
            raise ValueError("d_model must be divisible by num_heads")
        self.d_model, self.num_heads = d_model, num_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, query, key, value, key_padding_mask=None, causal=False):
        for t in (query, key, value):
            if t.dim() != 3 or t.shape[-1] != self.d_model:
                raise ValueError("inputs must be [B, L, d_model]")
        if key.shape[:2] != value.shape[:2] or query.shape[0] != key.shape[0]:
            raise ValueError("batch sizes or key/value lengths differ")
        B, Lq, _ = query.shape
        Lk, H = key.shape[1], self.num_heads
        if key_padding_mask is not None and tuple(key_padding_mask.shape) != (B, Lk):
            raise ValueError("key_padding_mask must be [B, Lk]")
        if causal and Lq > Lk:
            raise ValueError("causal needs Lq <= Lk")
        q = self.q_proj(query).unflatten(-1, (H, -1))  # b q h e
        k = self.k_proj(key).unflatten(-1, (H, -1))
        v = self.v_proj(value).unflatten(-1, (H, -1))
        scores = torch.einsum("bqhe,bkhe->bhqk", q, k) / math.sqrt(self.d_model)
        keep = torch.ones(B, 1, Lq, Lk, dtype=torch.bool, device=query.device)
        if key_padding_mask is not None:
            keep = keep & ~key_padding_mask[:, None, None, :]
        if causal:
            keep = keep & torch.ones(Lq, Lk, dtype=torch.bool, device=query.device).tril(Lk - Lq)
        any_key = keep.any(-1, keepdim=True)
        scores = scores.masked_fill(~keep, float("-inf")).masked_fill(~any_key, 0.0)
        weights = scores.softmax(-1) * any_key
        heads = torch.einsum("bhqk,bkhe->bqhe", weights, v).flatten(2)
        return self.out_proj(heads), weights
