"""Mistake: takes the mean over all T positions, padding included, instead of over the real tokens.

Diagnosis: averages over the padding
"""

# REPLACE: each mutant with a typical wrong answer to your challenge: one mistake, otherwise
# correct, so that the spec's diagnosis (not only a failure) is checked. `lmprep validate`
# requires every mutant to be rejected, and the failure shown to name the docstring's
# "Diagnosis:" words.

import torch


def perplexity(log_probs, mask):
    if log_probs.shape != mask.shape:
        raise ValueError("mask and log_probs differ in shape")
    return torch.exp(-log_probs.mean(dim=-1))
