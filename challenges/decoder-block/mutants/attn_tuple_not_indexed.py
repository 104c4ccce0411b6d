"""Adds attn's whole return value (out, weights) to the stream instead of its output [0].

Diagnosis: returns a tuple (out, weights)
"""

import math

import torch
from torch import nn


class MultiHeadAttention(nn.Module):
    """Multi-head attention with separate q/k/v/out projections of size d_model -> d_model.

    Example: d_model=4, num_heads=2 gives head_dim 2; head j uses features 2j, 2j+1 of each
    projection, and the weights come back per head, [B, 2, Lq, Lk].
    """

    def __init__(self, d_model: int, num_heads: int, bias: bool = True):
        super().__init__()
        if num_heads <= 0 or d_model <= 0 or d_model % num_heads != 0:
            raise ValueError(f"d_model ({d_model}) must be a positive multiple of num_heads ({num_heads})")
        self.d_model, self.num_heads, self.head_dim = d_model, num_heads, d_model // num_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

    def _check(self, query, key, value, key_padding_mask, causal):
        for name, x in (("query", query), ("key", key), ("value", value)):
            if x.dim() != 3 or x.shape[-1] != self.d_model:
                raise ValueError(f"{name} must be [B, L, {self.d_model}], got {list(x.shape)}")
        if not (query.shape[0] == key.shape[0] == value.shape[0]):
            raise ValueError(f"batch sizes differ: {query.shape[0]}, {key.shape[0]}, {value.shape[0]}")
        if key.shape[1] != value.shape[1]:
            raise ValueError(f"key and value lengths differ: {key.shape[1]} and {value.shape[1]}")
        if key_padding_mask is not None and tuple(key_padding_mask.shape) != (key.shape[0], key.shape[1]):
            raise ValueError(
                f"key_padding_mask must be [B, Lk] = {[key.shape[0], key.shape[1]]}, got {list(key_padding_mask.shape)}"
            )
        if causal and query.shape[1] > key.shape[1]:
            raise ValueError(f"causal attention needs Lq <= Lk, got Lq={query.shape[1]}, Lk={key.shape[1]}")

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        """[B, L, d_model] -> [B, H, L, head_dim]."""
        B, L, _ = x.shape
        return x.view(B, L, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        key_padding_mask: torch.Tensor | None = None,
        causal: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns (out [B, Lq, d_model], weights [B, H, Lq, Lk])."""
        self._check(query, key, value, key_padding_mask, causal)
        dtype = query.dtype
        compute = torch.promote_types(dtype, torch.float32)  # float16/bfloat16 -> float32 inside

        def linear(layer: nn.Linear, x: torch.Tensor) -> torch.Tensor:
            bias = None if layer.bias is None else layer.bias.to(compute)
            return nn.functional.linear(x.to(compute), layer.weight.to(compute), bias)

        B, Lq, Lk = query.shape[0], query.shape[1], key.shape[1]
        q = self._heads(linear(self.q_proj, query))  # (B, H, Lq, hd)
        k = self._heads(linear(self.k_proj, key))  # (B, H, Lk, hd)
        v = self._heads(linear(self.v_proj, value))  # (B, H, Lk, hd)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)  # (B, H, Lq, Lk)

        allowed = torch.ones(B, 1, Lq, Lk, dtype=torch.bool, device=query.device)  # (B, 1, Lq, Lk)
        if key_padding_mask is not None:
            allowed = allowed & ~key_padding_mask.to(device=query.device, dtype=torch.bool)[:, None, None, :]
        if causal:
            query_pos = torch.arange(Lk - Lq, Lk, device=query.device)[:, None]  # (Lq, 1): bottom-right
            allowed = allowed & (torch.arange(Lk, device=query.device)[None, :] <= query_pos)
        has_key = allowed.any(dim=-1, keepdim=True)  # (B, 1, Lq, 1)
        scores = scores.masked_fill(~allowed, float("-inf")).masked_fill(~has_key, 0.0)  # no all -inf row
        weights = torch.softmax(scores, dim=-1).masked_fill(~has_key, 0.0)  # (B, H, Lq, Lk)

        heads = weights @ v  # (B, H, Lq, hd); zero for a fully masked query
        merged = heads.transpose(1, 2).reshape(B, Lq, self.d_model)  # (B, Lq, d_model)
        out = linear(self.out_proj, merged)  # (B, Lq, d_model)
        return out.to(dtype), weights.to(dtype)


class DecoderBlock(nn.Module):
    """Pre-LN decoder block: causal self-attention and a GELU MLP, each inside a residual.

    Example: DecoderBlock(8, 2, 32) maps x [B, L, 8] to [B, L, 8]; output t depends on
    x[:, :t + 1] only.
    """

    def __init__(self, d_model: int, num_heads: int, d_ff: int):
        super().__init__()
        self.d_model = d_model
        self.ln1 = nn.LayerNorm(d_model)  # eps 1e-5
        self.attn = MultiHeadAttention(d_model, num_heads, bias=True)  # ValueError if d_model % num_heads
        self.ln2 = nn.LayerNorm(d_model)
        self.fc1 = nn.Linear(d_model, d_ff)
        self.fc2 = nn.Linear(d_ff, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, L, d_model] -> [B, L, d_model]."""
        if x.dim() != 3 or x.shape[-1] != self.d_model:  # before ln1, whose own error is a RuntimeError
            raise ValueError(f"x must be [B, L, {self.d_model}], got {list(x.shape)}")
        a = self.ln1(x)  # (B, L, d)
        h = x + self.attn(a, a, a, causal=True)  # (B, L, d): the residual stream
        m = self.fc2(nn.functional.gelu(self.fc1(self.ln2(h))))  # (B, L, d_ff) -> (B, L, d); exact GELU
        return h + m  # (B, L, d)
