"""Perplexity of each sequence from its tokens' log-probabilities, padding left out.

PPL = exp(-(1/N) Σₜ log p(xₜ | x_<t)), the mean taken over the N real tokens only
(Jurafsky and Martin, "Speech and Language Processing", §3.3). The reference is what a
learner sees after solving: write it as the best version of the answer.

# REPLACE: this whole file with your challenge's reference solution.
"""

import torch


def perplexity(log_probs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """exp of the mean negative log-likelihood over the real tokens of each sequence.

    Example: perplexity(log(tensor([[0.5, 0.25]])), tensor([[True, True]])) == tensor([2.8284]) (√8).
    """
    if log_probs.shape != mask.shape:
        raise ValueError(f"mask has shape {list(mask.shape)}, but log_probs has {list(log_probs.shape)}")
    real = mask.bool()  # (B, T)
    total = torch.where(real, log_probs, torch.zeros_like(log_probs)).sum(dim=-1)  # (B,) padding may hold anything
    count = real.sum(dim=-1).clamp(min=1)  # (B,) a sequence with no real token: 0 / 1, so perplexity 1
    return torch.exp(-total / count)  # (B,)
