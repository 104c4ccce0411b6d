"""Mutant: ignores special_tokens_mask, so special tokens can be selected.

Diagnosis: special_tokens_mask is ignored
"""

from __future__ import annotations

import torch

IGNORE_INDEX = -100


def mask_tokens(
    input_ids: torch.Tensor,
    mask_token_id: int,
    vocab_size: int,
    special_tokens_mask: torch.Tensor | None = None,
    mlm_probability: float = 0.15,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Select positions for the MLM loss and corrupt them 80/10/10.

    input_ids: integer tensor of any shape, e.g. (B, T) or (T,).
    special_tokens_mask: same shape, bool or 0/1; nonzero positions are never selected.
    Returns (inputs, labels): inputs in input_ids' dtype, labels int64, both input_ids' shape.
    """
    if not 0.0 <= mlm_probability <= 1.0:  # also rejects nan
        raise ValueError(f"mlm_probability must be in [0, 1], got {mlm_probability}")
    shape, device = input_ids.shape, input_ids.device

    probs = torch.full(shape, mlm_probability, dtype=torch.float32, device=device)  # (B, T)
    selected = torch.bernoulli(probs, generator=generator).bool()  # (B, T), independent coin flips
    labels = input_ids.long().masked_fill(~selected, IGNORE_INDEX)  # (B, T), int64

    # One uniform per position splits the selected ones 80/10/10.
    u = torch.rand(shape, generator=generator, device=device)  # (B, T) in [0, 1)
    to_mask = selected & (u < 0.8)  # (B, T)
    to_random = selected & (u >= 0.8) & (u < 0.9)  # (B, T); u >= 0.9 stays unchanged
    random_ids = torch.randint(vocab_size, shape, generator=generator, device=device, dtype=input_ids.dtype)  # (B, T)

    inputs = input_ids.masked_fill(to_mask, mask_token_id)  # (B, T), a new tensor
    inputs = torch.where(to_random, random_ids, inputs)  # (B, T)
    return inputs, labels
