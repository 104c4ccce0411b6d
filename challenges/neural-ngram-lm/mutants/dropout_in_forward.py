"""Applies dropout to the hidden layer in forward (the module is in training mode by default).

Diagnosis: draws random numbers
"""

import torch
import torch.nn.functional as F
from torch import nn


class NeuralNgramLM(nn.Module):
    """Next-token logits from the previous ``context_size`` tokens.

    Example: with vocab_size=4, context_size=2, embed_dim=2, hidden_dim=2, embedding rows
    [[1, 0], [0, 1], [1, 1], [-1, 0]], the context (0, 2) is embedded as e = [1, 0, 1, 1].
    """

    def __init__(self, vocab_size: int, context_size: int, embed_dim: int, hidden_dim: int):
        super().__init__()
        self.vocab_size = vocab_size
        self.context_size = context_size
        self.embed_dim = embed_dim
        self.embed = nn.Embedding(vocab_size, embed_dim)  # C: (V, m)
        self.hidden = nn.Linear(context_size * embed_dim, hidden_dim)  # H, d: (h, n·m), (h,)
        self.out = nn.Linear(hidden_dim, vocab_size)  # U, b: (V, h), (V,)

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        """context [B, context_size] (integer ids) -> logits [B, vocab_size]."""
        if context.dim() != 2 or context.shape[1] != self.context_size:
            raise ValueError(f"context must have shape [B, {self.context_size}], got {list(context.shape)}")
        batch = context.shape[0]
        e = self.embed(context)  # (B, n, m): one embedding per context position
        e = e.reshape(batch, self.context_size * self.embed_dim)  # (B, n·m): concatenated, position 0 first
        a = torch.tanh(self.hidden(e))  # (B, h)
        return self.out(F.dropout(a, p=0.1, training=self.training))  # (B, V)
