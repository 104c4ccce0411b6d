"""Indexes the position embeddings by the batch: pos_emb(arange(B))[:, None] adds one vector
per sequence (broadcast over its positions) instead of one per position.

Diagnosis: indexed by the batch
"""

import math

import torch
from torch import nn


class MultiHeadAttention(nn.Module):
    """Multi-head attention (the multi-head-attention challenge): q/k/v/out projections of
    size d_model -> d_model, per-head weights, key padding (True = ignore) and bottom-right
    causal masks; a query with no key left gets zero weights and the output out_proj(0)."""

    def __init__(self, d_model: int, num_heads: int, bias: bool = True):
        super().__init__()
        if num_heads <= 0 or d_model <= 0 or d_model % num_heads != 0:
            raise ValueError(f"d_model ({d_model}) must be a positive multiple of num_heads ({num_heads})")
        self.d_model, self.num_heads, self.head_dim = d_model, num_heads, d_model // num_heads
        self.q_proj = nn.Linear(d_model, d_model, bias=bias)
        self.k_proj = nn.Linear(d_model, d_model, bias=bias)
        self.v_proj = nn.Linear(d_model, d_model, bias=bias)
        self.out_proj = nn.Linear(d_model, d_model, bias=bias)

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
        for name, x in (("query", query), ("key", key), ("value", value)):
            if x.dim() != 3 or x.shape[-1] != self.d_model:
                raise ValueError(f"{name} must be [B, L, {self.d_model}], got {list(x.shape)}")
        if not (query.shape[0] == key.shape[0] == value.shape[0]) or key.shape[1] != value.shape[1]:
            raise ValueError(f"mismatched shapes {list(query.shape)}, {list(key.shape)}, {list(value.shape)}")
        B, Lq, Lk = query.shape[0], query.shape[1], key.shape[1]
        if key_padding_mask is not None and tuple(key_padding_mask.shape) != (B, Lk):
            raise ValueError(f"key_padding_mask must be [{B}, {Lk}], got {list(key_padding_mask.shape)}")
        if causal and Lq > Lk:
            raise ValueError(f"causal attention needs Lq <= Lk, got Lq={Lq}, Lk={Lk}")

        q = self._heads(self.q_proj(query))  # (B, H, Lq, hd)
        k = self._heads(self.k_proj(key))  # (B, H, Lk, hd)
        v = self._heads(self.v_proj(value))  # (B, H, Lk, hd)
        scores = q @ k.transpose(-2, -1) / math.sqrt(self.head_dim)  # (B, H, Lq, Lk)

        allowed = torch.ones(B, 1, Lq, Lk, dtype=torch.bool, device=query.device)  # (B, 1, Lq, Lk)
        if key_padding_mask is not None:
            allowed = allowed & ~key_padding_mask.to(device=query.device, dtype=torch.bool)[:, None, None, :]
        if causal:
            query_pos = torch.arange(Lk - Lq, Lk, device=query.device)[:, None]  # (Lq, 1): bottom-right
            allowed = allowed & (torch.arange(Lk, device=query.device)[None, :] <= query_pos)
        has_key = allowed.any(dim=-1, keepdim=True)  # (B, 1, Lq, 1)
        scores = scores.masked_fill(~allowed, float("-inf")).masked_fill(~has_key, 0.0)
        weights = torch.softmax(scores, dim=-1).masked_fill(~has_key, 0.0)  # (B, H, Lq, Lk)

        merged = (weights @ v).transpose(1, 2).reshape(B, Lq, self.d_model)  # (B, Lq, d_model)
        return self.out_proj(merged), weights


class DecoderBlock(nn.Module):
    """A pre-LayerNorm decoder block (the decoder-block challenge):
    h = x + attn(ln1(x), causal=True); out = h + fc2(gelu(fc1(ln2(h)))), exact GELU."""

    def __init__(self, d_model: int, num_heads: int, d_ff: int):
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = MultiHeadAttention(d_model, num_heads)
        self.ln2 = nn.LayerNorm(d_model)
        self.fc1 = nn.Linear(d_model, d_ff)
        self.fc2 = nn.Linear(d_ff, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, L, d_model] -> [B, L, d_model]; position t sees positions <= t only."""
        a = self.ln1(x)  # (B, L, d)
        h = x + self.attn(a, a, a, causal=True)[0]  # (B, L, d)
        return h + self.fc2(nn.functional.gelu(self.fc1(self.ln2(h))))  # (B, L, d)


class MiniGPT(nn.Module):
    """A decoder-only language model: ids [B, T] -> next-token logits [B, T, V].

    Example: MiniGPT(30, 32, 2, 2, 32) has 2 blocks with d_ff = 128 and about 27k
    parameters; its head shares the [30, 32] token-embedding matrix.
    """

    def __init__(
        self, vocab_size: int, d_model: int, num_heads: int, num_layers: int, max_len: int, d_ff: int | None = None
    ):
        super().__init__()
        d_ff = 4 * d_model if d_ff is None else d_ff
        self.max_len = max_len
        self.tok_emb = nn.Embedding(vocab_size, d_model)
        self.pos_emb = nn.Embedding(max_len, d_model)  # learned, one vector per position
        self.blocks = nn.ModuleList(DecoderBlock(d_model, num_heads, d_ff) for _ in range(num_layers))
        self.ln_f = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)
        self.head.weight = self.tok_emb.weight  # tied: one [V, d] matrix reads tokens in and scores them out
        nn.init.normal_(self.tok_emb.weight, std=0.02)  # small embeddings: the first logits are near 0
        nn.init.normal_(self.pos_emb.weight, std=0.02)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """ids [B, T] (int64, T <= max_len) -> logits [B, T, V]: raw scores, no softmax."""
        if ids.dim() != 2:
            raise ValueError(f"ids must be [B, T], got {list(ids.shape)}")
        T = ids.shape[1]
        if T > self.max_len:
            raise ValueError(f"the sequence has {T} tokens, more than max_len = {self.max_len}")
        positions = torch.arange(T, device=ids.device)  # (T,)
        x = self.tok_emb(ids) + self.pos_emb(torch.arange(ids.shape[0], device=ids.device))[:, None, :]
        for block in self.blocks:
            x = block(x)  # (B, T, d)
        return self.head(self.ln_f(x))  # (B, T, V)

    def train_on(self, text_ids: torch.Tensor, steps: int, seed: int) -> list[float]:
        """Train in place on next-token prediction over ``text_ids`` [N]; returns the ``steps`` losses.

        Each step draws 8 random windows of up to max_len + 1 tokens with a generator
        seeded by ``seed`` (never the global RNG), predicts tokens 1..T from tokens 0..T-1
        and takes one AdamW step.
        """
        text_ids = torch.as_tensor(text_ids, dtype=torch.long).flatten()
        T = min(self.max_len, len(text_ids) - 1)  # inputs per window; targets are shifted by one
        gen = torch.Generator().manual_seed(seed)
        optimizer = torch.optim.AdamW(self.parameters(), lr=3e-3, weight_decay=0.01)
        self.train()
        losses = []
        for _ in range(steps):
            starts = torch.randint(0, len(text_ids) - T, (8,), generator=gen)  # (8,)
            windows = torch.stack([text_ids[s : s + T + 1] for s in starts.tolist()])  # (8, T + 1)
            inputs, targets = windows[:, :-1], windows[:, 1:]  # (8, T) each: targets shifted by one
            logits = self(inputs)  # (8, T, V)
            loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return losses
