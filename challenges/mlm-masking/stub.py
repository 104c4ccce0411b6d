"""Masked-LM masking (BERT's 80/10/10): fill in mask_tokens (torch)."""

from __future__ import annotations

import torch


def mask_tokens(
    input_ids: torch.Tensor,
    mask_token_id: int,
    vocab_size: int,
    special_tokens_mask: torch.Tensor | None = None,
    mlm_probability: float = 0.15,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Choose the positions a masked LM must predict and corrupt them.

    input_ids: integer tensor of any shape, e.g. (B, T) or (T,); ids in [0, vocab_size).
    special_tokens_mask: None or a tensor of input_ids' shape, bool or 0/1; positions where it
        is True / 1 are never selected.
    mlm_probability: in [0, 1] (otherwise ValueError); each non-special position is selected
        independently with this probability.
    generator: a torch.Generator on input_ids' device, or None for the global RNG; when given,
        every random draw must use it.

    Returns (inputs, labels), both of input_ids' shape and device:
        labels (int64): the original id at selected positions, -100 elsewhere;
        inputs (input_ids' dtype): a selected position becomes mask_token_id with probability
        0.8, a uniformly random id in [0, vocab_size) with 0.1, and stays unchanged with 0.1;
        every other position is unchanged. input_ids is not modified.
    """
    raise NotImplementedError
