"""Mutant: feeds the model only the last token at each step.

Diagnosis: only the last token
"""

from __future__ import annotations

import torch


def _check_args(temperature: float, top_k: int | None, top_p: float | None) -> None:
    if not temperature >= 0:  # also rejects nan
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if top_k is not None and top_k < 1:
        raise ValueError(f"top_k must be >= 1, got {top_k}")
    if top_p is not None and not 0.0 < top_p <= 1.0:  # also rejects nan
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")


def _top_k(logits: torch.Tensor, k: int) -> torch.Tensor:
    """Keep every entry >= the k-th largest of its row (ties kept); the rest become -inf."""
    if k >= logits.shape[-1]:
        return logits
    kth = torch.topk(logits, k, dim=-1).values[:, -1:]  # (B, 1)
    return logits.masked_fill(logits < kth, float("-inf"))  # (B, V)


def _top_p(logits: torch.Tensor, p: float) -> torch.Tensor:
    """Keep the shortest most-probable prefix whose probability reaches p; the rest -inf."""
    if p == 1.0:
        return logits
    probs = torch.softmax(logits, dim=-1)  # (B, V)
    sorted_probs, order = torch.sort(probs, dim=-1, descending=True, stable=True)  # (B, V) each
    before = torch.cumsum(sorted_probs, dim=-1) - sorted_probs  # (B, V), mass ahead of each token
    keep = torch.zeros_like(before, dtype=torch.bool).scatter(-1, order, before < p)  # (B, V)
    return logits.masked_fill(~keep, float("-inf"))  # (B, V)


@torch.no_grad()
def sample_next(
    logits: torch.Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """logits [B, V] -> one sampled id per row, [B] int64 on the logits' device."""
    _check_args(temperature, top_k, top_p)
    if temperature == 0:
        return torch.argmax(logits, dim=-1)  # (B,) first maximum = lowest id; draws nothing
    scaled = logits.double() / temperature  # (B, V), float64 keeps the filters exact
    if top_k is not None:
        scaled = _top_k(scaled, top_k)  # (B, V)
    if top_p is not None:
        scaled = _top_p(scaled, top_p)  # (B, V), nucleus of the top-k survivors
    probs = torch.softmax(scaled, dim=-1)  # (B, V), removed tokens get 0
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)  # (B,)


@torch.no_grad()
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
    """model(ids [B, t]) -> logits [B, t, V]; prompt [B, T] -> prompt + new ids [B, T + n] int64."""
    _check_args(temperature, top_k, top_p)
    if max_new_tokens < 0:
        raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}")
    ids = prompt.clone()  # (B, T)
    finished = torch.zeros(ids.shape[0], dtype=torch.bool, device=ids.device)  # (B,)
    for _ in range(max_new_tokens):
        logits = model(ids[:, -1:])[:, -1, :]  # (B, V), the last position scores the next token
        next_ids = sample_next(logits, temperature, top_k, top_p, generator)  # (B,)
        if eos_id is not None:
            next_ids = next_ids.masked_fill(finished, eos_id)  # (B,), finished rows repeat eos
            finished |= next_ids == eos_id  # (B,)
        ids = torch.cat([ids, next_ids[:, None]], dim=1)  # (B, t + 1)
        if finished.all():
            break
    return ids
