"""Wrong: checks that the context is 2-D but not its width, and flattens with
view(B, -1), so a context of the wrong width fails inside nn.Linear with a RuntimeError.

Diagnosis: shape is not validated
"""

import torch
from torch import nn


class NeuralNgramLM(nn.Module):
    def __init__(self, vocab_size, context_size, embed_dim, hidden_dim):
        super().__init__()
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.hidden = nn.Linear(context_size * embed_dim, hidden_dim)
        self.out = nn.Linear(hidden_dim, vocab_size)

    def forward(self, context):
        if context.dim() != 2:
            raise ValueError(f"expected a 2-D context, got {context.dim()}-D")
        B = context.shape[0]
        e = self.embed(context).view(B, -1)
        h = torch.tanh(self.hidden(e))
        return self.out(h)
