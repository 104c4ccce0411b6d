"""Top-k and top-p filtering: fill in both functions (torch)."""

from __future__ import annotations

import torch


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep, in each row, every entry >= the row's k-th largest value; set the rest to -inf.

    logits: tensor of shape (..., V), V = vocabulary size; rows are along the last dim.
    k: int >= 1 (k < 1 -> ValueError); k >= V keeps every entry.
    Ties at the boundary are all kept, so a row may keep more than k entries.
    Returns a new tensor of shape (..., V), same dtype and device. The input is not modified.
    """
    raise NotImplementedError


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Keep, in each row, the shortest most-probable set of tokens whose probability reaches p.

    logits: tensor of shape (..., V). p: float in (0, 1] (otherwise ValueError); p = 1 keeps all.
    Probabilities are softmax(logits) over the last dim, sorted in descending order with a
    stable sort (equal probabilities keep index order); the token whose cumulative
    probability crosses p is kept, and at least one token is always kept.
    Returns a new tensor of shape (..., V), same dtype and device, removed entries -inf.
    The input is not modified.
    """
    raise NotImplementedError
