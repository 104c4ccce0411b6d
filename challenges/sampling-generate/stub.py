"""Sampling and generation: fill in both functions (torch)."""

from __future__ import annotations

import torch


def sample_next(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Draw one next-token id per row.

    logits: [B, V] float tensor (row b scores the vocabulary for sequence b).
    temperature: >= 0 (else ValueError); 0 is greedy (argmax, ties -> lowest id, draws nothing).
    top_k: None, or an int >= 1 (else ValueError); keeps every entry >= the k-th largest.
    top_p: None, or a float in (0, 1] (else ValueError); keeps the token that crosses p.
    Order: logits / temperature, then top-k, then top-p, then one draw from the softmax of
    what is left, using `generator` (None: torch's global RNG).
    Returns: [B] int64 tensor on the logits' device. `logits` is not modified.
    """
    raise NotImplementedError


def generate(
    model,
    prompt: torch.Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    eos_id: int | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Extend every row of `prompt` with up to `max_new_tokens` sampled ids.

    model(ids [B, t] int64) -> logits [B, t, V]; the last position scores the next token.
    prompt: [B, T] int64 (T >= 1). Each step calls the model once on the whole sequence so far
    and picks the next ids with `sample_next` (same temperature, top_k, top_p, generator).
    A row that has emitted `eos_id` continues with `eos_id`; stop early once every row has.
    max_new_tokens < 0 -> ValueError. Returns [B, T + n] int64 (n = steps taken) on the
    prompt's device. `prompt` is not modified; no autograd graph is built.
    """
    raise NotImplementedError
