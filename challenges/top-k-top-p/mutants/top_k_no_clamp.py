"""Calls torch.topk with k > V instead of keeping everything when k >= V.

Diagnosis: k >= V is not handled
"""

from __future__ import annotations

import torch


def top_k_filter(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep the entries >= the k-th largest of each row; the rest become -inf.

    logits: (..., V). k: int >= 1; k >= V keeps everything.
    Returns a new tensor of the same shape, dtype and device.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    vocab = logits.shape[-1]
    kth = torch.topk(logits, k, dim=-1).values[..., -1:]  # (..., 1), the k-th largest
    return logits.masked_fill(logits < kth, float("-inf"))  # (..., V), ties with kth survive


def top_p_filter(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Keep the shortest most-probable prefix whose probability reaches p; the rest -inf.

    logits: (..., V). p: float in (0, 1]; p = 1 keeps everything.
    Returns a new tensor of the same shape, dtype and device.
    """
    if not 0.0 < p <= 1.0:
        raise ValueError(f"p must be in (0, 1], got {p}")
    if p == 1.0:
        return logits.clone()  # (..., V)
    probs = torch.softmax(logits.double(), dim=-1)  # (..., V), float64 for an exact cumsum
    sorted_probs, order = torch.sort(probs, dim=-1, descending=True, stable=True)  # (..., V) each
    before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs  # (..., V), mass ahead of each token
    keep_sorted = before < p  # (..., V), the first token (before = 0) is always kept
    keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)  # (..., V), back to index order
    return logits.masked_fill(~keep, float("-inf"))  # (..., V)
