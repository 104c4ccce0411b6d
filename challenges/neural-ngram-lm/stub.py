import torch
from torch import nn


class NeuralNgramLM(nn.Module):
    """Bengio et al.'s neural n-gram model: next-token logits from the previous context_size tokens."""

    def __init__(self, vocab_size: int, context_size: int, embed_dim: int, hidden_dim: int):
        """Create the layers.

        embed = nn.Embedding(vocab_size, embed_dim), hidden = nn.Linear(context_size * embed_dim,
        hidden_dim) and out = nn.Linear(hidden_dim, vocab_size), both with their biases.
        """
        super().__init__()
        raise NotImplementedError

    def forward(self, context: torch.Tensor) -> torch.Tensor:
        """Score every vocabulary word as the next token.

        Args:
            context: token ids [B, context_size] (int64 or int32), the oldest token in column 0.

        Returns:
            The raw logits [B, vocab_size] = out(tanh(hidden(e))), e the context's embeddings
            concatenated in order, [B, context_size * embed_dim]. No softmax.

        Raises:
            ValueError: if context is not 2-D or its width is not context_size.
        """
        raise NotImplementedError
