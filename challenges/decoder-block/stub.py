"""A decoder block: write DecoderBlock (see the statement), around your MultiHeadAttention.

Paste your MultiHeadAttention from the multi-head-attention challenge below (or write it
again): the block's attn is one of them.
"""

import torch
from torch import nn


class MultiHeadAttention(nn.Module):
    """Multi-head attention with q_proj, k_proj, v_proj and out_proj, each nn.Linear(d_model, d_model, bias)."""

    def __init__(self, d_model: int, num_heads: int, bias: bool = True):
        super().__init__()
        raise NotImplementedError

    def forward(
        self,
        query: torch.Tensor,
        key: torch.Tensor,
        value: torch.Tensor,
        key_padding_mask: torch.Tensor | None = None,
        causal: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(query [B, Lq, d], key [B, Lk, d], value [B, Lk, d]) -> (out [B, Lq, d], weights [B, H, Lq, Lk])."""
        raise NotImplementedError


class DecoderBlock(nn.Module):
    """Pre-LN decoder block: ln1, attn (MultiHeadAttention), ln2, fc1 (d_model -> d_ff), fc2 (d_ff -> d_model)."""

    def __init__(self, d_model: int, num_heads: int, d_ff: int):
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, L, d_model] -> [B, L, d_model]: h = x + attn(ln1(x), causal); h + fc2(gelu(fc1(ln2(h))))."""
        raise NotImplementedError
