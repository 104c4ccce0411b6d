"""Greedy decoding."""

from __future__ import annotations

import torch


def greedy_decode(model, prompt: torch.Tensor, max_new_tokens: int, eos_id: int | None = None) -> torch.Tensor:
    """model(ids [1, t]) -> logits [1, t, V]; prompt [T] int64 -> prompt + generated ids, 1-D int64."""
    raise NotImplementedError
