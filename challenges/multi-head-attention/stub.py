"""Multi-head attention: write MultiHeadAttention (see the statement)."""

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
