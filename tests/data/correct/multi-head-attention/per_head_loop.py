"""A correct MultiHeadAttention written differently from the reference: a Python loop over
the heads, each projecting with its own row slice of the q/k/v weights (no view/transpose
of a full projection), a float mask of 0 / -inf added to the scores, the heads
concatenated with torch.cat and out_proj applied as a matrix product plus bias. Fully
masked queries are found before the softmax and their weights zeroed with torch.where.
"""

import math

import torch
from torch import nn


class MultiHeadAttention(nn.Module):
    def __init__(self, d_model, num_heads, bias=True):
        super().__init__()
        if num_heads < 1 or d_model % num_heads:
            raise ValueError(f"num_heads={num_heads} must divide d_model={d_model}")
        self.d_model, self.num_heads = d_model, num_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    @staticmethod
    def _rows(layer, rows, x, dtype):
        """x @ W[rows]ᵀ + b[rows] in ``dtype``."""
        y = x.to(dtype) @ layer.weight[rows].to(dtype).T
        return y if layer.bias is None else y + layer.bias[rows].to(dtype)

    def forward(self, query, key, value, key_padding_mask=None, causal=False):
        named = {"query": query, "key": key, "value": value}
        for name, t in named.items():
            if t.ndim != 3:
                raise ValueError(f"{name} must be 3-D, got {t.ndim}-D")
            if t.shape[-1] != self.d_model:
                raise ValueError(f"{name} has width {t.shape[-1]}, expected {self.d_model}")
        if len({query.shape[0], key.shape[0], value.shape[0]}) != 1:
            raise ValueError("query, key and value batch sizes differ")
        if key.shape[1] != value.shape[1]:
            raise ValueError("key and value lengths differ")
        B, Lq, Lk = query.shape[0], query.shape[1], key.shape[1]
        if key_padding_mask is not None and list(key_padding_mask.shape) != [B, Lk]:
            raise ValueError(f"key_padding_mask should be [{B}, {Lk}], got {list(key_padding_mask.shape)}")
        if causal and Lq > Lk:
            raise ValueError("causal attention with more queries than keys")

        work = torch.float64 if query.dtype == torch.float64 else torch.float32
        blocked = torch.zeros(B, Lq, Lk, dtype=torch.bool, device=query.device)
        if key_padding_mask is not None:
            blocked = blocked | key_padding_mask.bool().unsqueeze(1)
        if causal:
            blocked = blocked | torch.ones(Lq, Lk, dtype=torch.bool, device=query.device).triu(Lk - Lq + 1)
        dead = blocked.all(dim=-1, keepdim=True)  # (B, Lq, 1)
        bias = torch.zeros(B, Lq, Lk, dtype=work, device=query.device)
        bias = bias.masked_fill(blocked & ~dead, float("-inf"))

        hd = self.d_model // self.num_heads
        heads, weights = [], []
        for h in range(self.num_heads):
            rows = slice(h * hd, (h + 1) * hd)
            q = self._rows(self.q_proj, rows, query, work)  # (B, Lq, hd)
            k = self._rows(self.k_proj, rows, key, work)  # (B, Lk, hd)
            v = self._rows(self.v_proj, rows, value, work)  # (B, Lk, hd)
            scores = torch.bmm(q, k.transpose(1, 2)) * (1.0 / math.sqrt(hd)) + bias
            w = torch.where(dead, torch.zeros_like(scores), torch.softmax(scores, dim=2))
            weights.append(w)
            heads.append(torch.bmm(w, v))
        concat = torch.cat(heads, dim=2)  # (B, Lq, d_model)
        out = concat @ self.out_proj.weight.to(work).T
        if self.out_proj.bias is not None:
            out = out + self.out_proj.bias.to(work)
        return out.to(query.dtype), torch.stack(weights, dim=1).to(query.dtype)
