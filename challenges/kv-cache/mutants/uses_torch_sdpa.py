"""Mutant: uses torch's scaled_dot_product_attention with is_causal=True (forbidden, and top-left aligned).

Diagnosis: torch.nn.functional.scaled_dot_product_attention does the work
"""

import math

import torch
from torch import nn


class CachedCausalSelfAttention(nn.Module):
    """Causal multi-head self-attention whose forward takes and returns a KV cache.

    Example: y1, cache = attn(x[:, :5]) then y2, cache = attn(x[:, 5:], cache) gives
    torch.cat([y1, y2], dim=1) == attn(x)[0], and cache["k"] has shape [B, H, T, d_head].
    """

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        if d_model % n_heads != 0:
            raise ValueError(f"d_model ({d_model}) must be divisible by n_heads ({n_heads})")
        self.d_model, self.n_heads, self.d_head = d_model, n_heads, d_model // n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model)  # q, k, v side by side along the last dim
        self.proj = nn.Linear(d_model, d_model)

    def split_heads(self, t: torch.Tensor) -> torch.Tensor:
        """(B, T, d_model) -> (B, H, T, d_head): head h takes features h*d_head ... (h+1)*d_head - 1."""
        B, T, _ = t.shape
        return t.view(B, T, self.n_heads, self.d_head).transpose(1, 2)  # (B, H, T, d_head)

    def forward(
        self, x: torch.Tensor, cache: dict[str, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """x [B, T, d_model] (the new tokens) -> (y [B, T, d_model], cache with every position seen)."""
        B, T, _ = x.shape
        q, k, v = self.qkv(x).split(self.d_model, dim=-1)  # (B, T, d_model) each: only the new tokens
        q, k, v = self.split_heads(q), self.split_heads(k), self.split_heads(v)  # (B, H, T, d_head)
        if cache is not None:  # a new dict; the caller's stays as it was
            k = torch.cat([cache["k"], k], dim=2)  # (B, H, T_past + T, d_head)
            v = torch.cat([cache["v"], v], dim=2)  # (B, H, T_past + T, d_head)
        T_all = k.shape[2]
        out = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
        out = out.transpose(1, 2).reshape(B, T, self.d_model)  # (B, T, d_model): heads side by side
        return self.proj(out), {"k": k, "v": v}  # (B, T, d_model)
