"""A tiny GPT: write MiniGPT (see the statement). Paste your MultiHeadAttention (from the
multi-head-attention challenge) and your DecoderBlock (from decoder-block) below first."""

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
    """Pre-LN block with ln1, attn (MultiHeadAttention), ln2, fc1 (d_model -> d_ff), fc2 (d_ff -> d_model)."""

    def __init__(self, d_model: int, num_heads: int, d_ff: int):
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, L, d_model] -> x + attn(ln1(x), causal) then h + fc2(gelu(fc1(ln2(h)))), [B, L, d_model]."""
        raise NotImplementedError


class MiniGPT(nn.Module):
    """tok_emb + pos_emb -> blocks -> ln_f -> head (tied to tok_emb): ids [B, T] -> logits [B, T, V]."""

    def __init__(
        self, vocab_size: int, d_model: int, num_heads: int, num_layers: int, max_len: int, d_ff: int | None = None
    ):
        super().__init__()
        raise NotImplementedError

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids [B, T] (int64, T <= max_len) -> logits [B, T, vocab_size], raw scores."""
        raise NotImplementedError

    def train_on(self, text_ids: torch.Tensor, steps: int, seed: int) -> list[float]:
        """Train in place with AdamW on next-token prediction over text_ids [N]; return the `steps` losses."""
        raise NotImplementedError
