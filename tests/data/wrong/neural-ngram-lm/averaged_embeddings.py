"""Wrong: averages the context's embeddings (a CBOW-style bag of words) and sizes the
hidden layer for one embedding, so word order is lost.

Diagnosis: summed or averaged instead of concatenated
"""

import torch
from torch import nn


class NeuralNgramLM(nn.Module):
    def __init__(self, vocab_size, context_size, embed_dim, hidden_dim):
        super().__init__()
        self.context_size = context_size
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.hidden = nn.Linear(embed_dim, hidden_dim)
        self.out = nn.Linear(hidden_dim, vocab_size)

    def forward(self, context):
        if context.ndim != 2 or context.size(1) != self.context_size:
            raise ValueError("context must be [B, context_size]")
        e = self.embed(context).mean(dim=1)
        return self.out(torch.tanh(self.hidden(e)))
