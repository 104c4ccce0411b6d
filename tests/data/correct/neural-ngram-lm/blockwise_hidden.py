"""Correct, written differently: never builds the concatenated vector. The hidden layer's
weight [h, n·m] is split into n blocks of m columns, one per context position, and the
pre-activation is the sum over positions of embedding_i @ block_iᵀ (an einsum), which
equals hidden(concat(...)); the embedding rows are read by indexing the table, and the
output layer is an einsum too, instead of calling the nn.Linear modules.
"""

import torch
from torch import nn


class NeuralNgramLM(nn.Module):
    def __init__(self, vocab_size: int, context_size: int, embed_dim: int, hidden_dim: int):
        super().__init__()
        self.n, self.m = context_size, embed_dim
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.hidden = nn.Linear(context_size * embed_dim, hidden_dim)
        self.out = nn.Linear(hidden_dim, vocab_size)

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        if context.ndim != 2:
            raise ValueError(f"context must be 2-D [B, {self.n}], got {context.ndim}-D")
        if context.shape[-1] != self.n:
            raise ValueError(f"context must have {self.n} columns, got {context.shape[-1]}")
        vectors = self.embed.weight[context]  # (B, n, m)
        blocks = self.hidden.weight.unflatten(1, (self.n, self.m))  # (h, n, m): one block per position
        pre = torch.einsum("bnm,hnm->bh", vectors, blocks) + self.hidden.bias  # (B, h)
        return torch.einsum("bh,vh->bv", torch.tanh(pre), self.out.weight) + self.out.bias  # (B, V)
