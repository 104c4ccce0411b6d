"""A second correct decoder block, written differently from the reference: multi-head
attention with einsum over a [B, L, H, head_dim] layout and a tril mask, a hand-written
LayerNorm module (biased variance, eps inside the square root) with the same parameter
names, the exact GELU written out with torch.erf, and the two sub-layers as methods.
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


class LayerNorm(nn.Module):
    """LayerNorm over the last dim: (x - mean) / sqrt(var + eps) * weight + bias, var divided by d."""

    def __init__(self, d, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))
        self.bias = nn.Parameter(torch.zeros(d))

    def forward(self, x):
        centred = x - x.mean(-1, keepdim=True)
        var = (centred * centred).mean(-1, keepdim=True)
        return centred * torch.rsqrt(var + self.eps) * self.weight + self.bias


def gelu_exact(z):
    return 0.5 * z * (1.0 + torch.erf(z / math.sqrt(2.0)))


class DecoderBlock(nn.Module):
    def __init__(self, d_model, num_heads, d_ff):
        super().__init__()
        self.d_model = d_model
        self.attn = MultiHeadAttention(d_model, num_heads, bias=True)
        self.fc1 = nn.Linear(d_model, d_ff)
        self.fc2 = nn.Linear(d_ff, d_model)
        self.ln1 = LayerNorm(d_model)
        self.ln2 = LayerNorm(d_model)

    def _attention(self, x):
        y = self.ln1(x)
        out, _ = self.attn(y, y, y, causal=True)
        return out

    def _mlp(self, x):
        return self.fc2(gelu_exact(self.fc1(self.ln2(x))))

    def forward(self, x):
        if x.ndim != 3:
            raise ValueError(f"x must be 3-D [B, L, d_model], got {x.ndim}-D")
        if x.shape[-1] != self.d_model:
            raise ValueError(f"x's last dimension is {x.shape[-1]}, expected d_model = {self.d_model}")
        stream = x + self._attention(x)
        return stream + self._mlp(stream)
