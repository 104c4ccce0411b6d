"""Mistake: exp of the summed negative log-likelihood (the sequence's inverse probability), not of its mean.

Diagnosis: sums the log-probabilities
"""

import torch


def perplexity(log_probs, mask):
    if log_probs.shape != mask.shape:
        raise ValueError("mask and log_probs differ in shape")
    real = torch.where(mask, log_probs, torch.zeros_like(log_probs))
    return torch.exp(-real.sum(dim=-1))
