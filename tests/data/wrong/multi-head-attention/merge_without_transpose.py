"""Written from the prompt alone: merges the heads with a plain reshape of [B, H, Lq, head_dim]
to [B, Lq, d_model], so each token's output mixes other tokens' head outputs.

Diagnosis: merged without transpose
"""

import math

import torch
from torch import nn


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, num_heads, bias=True):
        super().__init__()
        if d_model % num_heads:
            raise ValueError("num_heads must divide d_model")
        self.d_model, self.num_heads, self.head_dim = d_model, num_heads, d_model // num_heads
        for name in ("q_proj", "k_proj", "v_proj", "out_proj"):
            setattr(self, name, nn.Linear(d_model, d_model, bias=bias))

    def forward(self, query, key, value, key_padding_mask=None, causal=False):
        for x in (query, key, value):
            if x.ndim != 3 or x.shape[2] != self.d_model:
                raise ValueError("expected [B, L, d_model]")
        B, Lq, Lk = query.shape[0], query.shape[1], key.shape[1]
        if key.shape[0] != B or value.shape[0] != B or value.shape[1] != Lk:
            raise ValueError("shape mismatch")
        if key_padding_mask is not None and key_padding_mask.shape != (B, Lk):
            raise ValueError("key_padding_mask must be [B, Lk]")
        if causal and Lq > Lk:
            raise ValueError("causal attention needs Lq <= Lk")
        H, hd = self.num_heads, self.head_dim
        q = self.q_proj(query).view(B, Lq, H, hd).transpose(1, 2)
        k = self.k_proj(key).view(B, Lk, H, hd).transpose(1, 2)
        v = self.v_proj(value).view(B, Lk, H, hd).transpose(1, 2)
        blocked = torch.zeros(B, 1, Lq, Lk, dtype=torch.bool, device=query.device)
        if key_padding_mask is not None:
            blocked = blocked | key_padding_mask.view(B, 1, 1, Lk)
        if causal:
            i = torch.arange(Lq, device=query.device).view(Lq, 1) + (Lk - Lq)
            blocked = blocked | (torch.arange(Lk, device=query.device).view(1, Lk) > i)
        empty = blocked.all(-1, keepdim=True)
        scores = (q @ k.transpose(-1, -2) / math.sqrt(hd)).masked_fill(blocked & ~empty, float("-inf"))
        weights = torch.softmax(scores, -1).masked_fill(empty, 0.0)
        out = (weights @ v).reshape(B, Lq, self.d_model)
        return self.out_proj(out), weights
