"""Written from the prompt alone: the 2017 (post-LN) layout, LayerNorm after each residual sum,
x = ln1(x + attn(x)), then ln2(h + mlp(h)), instead of normalising each sub-layer's input.

Diagnosis: post-LN
"""

import math

import torch
from torch import nn


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, num_heads, bias=True):
        super().__init__()
        if d_model % num_heads:
            raise ValueError("d_model must be divisible by num_heads")
        self.d_model, self.h = d_model, num_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def forward(self, query, key, value, key_padding_mask=None, causal=False):
        for t in (query, key, value):
            if t.dim() != 3 or t.shape[-1] != self.d_model:
                raise ValueError("inputs must be [B, L, d_model]")
        if query.shape[0] != key.shape[0] or key.shape[:2] != value.shape[:2]:
            raise ValueError("batch sizes or key/value lengths differ")
        B, Lq, _ = query.shape
        Lk = key.shape[1]
        if key_padding_mask is not None and tuple(key_padding_mask.shape) != (B, Lk):
            raise ValueError("key_padding_mask must be [B, Lk]")
        if causal and Lq > Lk:
            raise ValueError("causal needs Lq <= Lk")
        hd = self.d_model // self.h
        q = self.q_proj(query).reshape(B, Lq, self.h, hd)
        k = self.k_proj(key).reshape(B, Lk, self.h, hd)
        v = self.v_proj(value).reshape(B, Lk, self.h, hd)
        s = torch.einsum("bqhd,bkhd->bhqk", q, k) / math.sqrt(hd)
        keep = torch.ones(B, 1, Lq, Lk, dtype=torch.bool, device=query.device)
        if key_padding_mask is not None:
            keep = keep & ~key_padding_mask.bool().to(query.device)[:, None, None, :]
        if causal:
            keep = keep & torch.ones(Lq, Lk, dtype=torch.bool, device=query.device).tril(Lk - Lq)
        any_key = keep.any(-1, keepdim=True)
        s = s.masked_fill(~keep, float("-inf")).masked_fill(~any_key, 0.0)
        w = torch.softmax(s, dim=-1) * any_key
        o = torch.einsum("bhqk,bkhd->bqhd", w, v).reshape(B, Lq, self.d_model)
        return self.out_proj(o), w


class DecoderBlock(nn.Module):
    def __init__(self, d_model, num_heads, d_ff):
        super().__init__()
        self.d_model = d_model
        self.ln1, self.ln2 = nn.LayerNorm(d_model), nn.LayerNorm(d_model)
        self.attn = MultiHeadAttention(d_model, num_heads)
        self.fc1, self.fc2 = nn.Linear(d_model, d_ff), nn.Linear(d_ff, d_model)

    def forward(self, x):
        if x.dim() != 3 or x.shape[-1] != self.d_model:
            raise ValueError("x must be [B, L, d_model]")
        h = self.ln1(x + self.attn(x, x, x, causal=True)[0])
        return self.ln2(h + self.fc2(nn.functional.gelu(self.fc1(h))))
