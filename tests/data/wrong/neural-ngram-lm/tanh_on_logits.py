"""Wrong: squashes the output scores with tanh as well, so every logit lies in (-1, 1).

Diagnosis: tanh applied to the logits
"""

import torch
from torch import nn


class NeuralNgramLM(nn.Module):
    def __init__(self, vocab_size, context_size, embed_dim, hidden_dim):
        super().__init__()
        self.n, self.m = context_size, embed_dim
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.hidden = nn.Linear(context_size * embed_dim, hidden_dim)
        self.out = nn.Linear(hidden_dim, vocab_size)

    def forward(self, context):
        if context.dim() != 2 or context.shape[1] != self.n:
            raise ValueError("bad context shape")
        x = self.embed(context).reshape(context.shape[0], self.n * self.m)
        return torch.tanh(self.out(torch.tanh(self.hidden(x))))
