"""Takes torch.log(torch.softmax(...)) instead of log_softmax: a very unlikely token's
probability underflows to 0 and its log-probability becomes -inf (logits of magnitude 1e4).

Diagnosis: log(softmax(x)) underflows
"""

import torch


def _check_shapes(logits: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor | None) -> None:
    """Raise ValueError unless logits [..., L, V], tokens [..., L] and mask (broadcastable to tokens) fit."""
    if logits.dim() < 2:
        raise ValueError(f"logits must have shape [..., L, V], got {list(logits.shape)}")
    if tokens.shape != logits.shape[:-1]:
        raise ValueError(f"tokens must have shape {list(logits.shape[:-1])}, got {list(tokens.shape)}")
    if mask is not None:
        try:
            shape = torch.broadcast_shapes(mask.shape, tokens.shape)
        except RuntimeError:
            shape = None
        if shape != tokens.shape:
            raise ValueError(f"mask of shape {list(mask.shape)} does not broadcast to tokens {list(tokens.shape)}")


def _token_log_probs(
    logits: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(log p(token_i | prefix) [..., L] with 0 at uncounted positions, counted [..., L] bool)."""
    _check_shapes(logits, tokens, mask)
    counted = torch.ones_like(tokens, dtype=torch.bool) if mask is None else (mask != 0).expand(tokens.shape)
    safe_tokens = torch.where(counted, tokens, torch.zeros_like(tokens))  # (..., L) masked ids never looked up
    x = logits.to(torch.promote_types(logits.dtype, torch.float32))  # (..., L, V) float16 -> float32
    log_probs = torch.log(torch.softmax(x, dim=-1))  # (..., L, V)
    picked = log_probs.gather(-1, safe_tokens.unsqueeze(-1)).squeeze(-1)  # (..., L)
    return torch.where(counted, picked, torch.zeros_like(picked)), counted  # (..., L), (..., L)


def sequence_log_prob(logits: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """Σᵢ log p(tokens[..., i] | prefix) over counted positions: [..., L, V], [..., L] -> [...].

    Example: logits [[0, 0], [0, ln 3]] and tokens [0, 1] give log(1/2) + log(3/4) = -0.9808.
    """
    token_lp, _ = _token_log_probs(logits, tokens, mask)  # (..., L)
    return token_lp.sum(dim=-1).to(logits.dtype)  # (...)


def perplexity(logits: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """exp(−mean log p) over counted positions, 1 for a row with none: [..., L, V], [..., L] -> [...].

    Example: logits [[0, 0], [0, ln 3]] and tokens [0, 1] give exp(0.9808 / 2) = 1.6330.
    """
    token_lp, counted = _token_log_probs(logits, tokens, mask)  # (..., L)
    count = counted.sum(dim=-1).clamp(min=1)  # (...) a row with no counted position: 0/1 -> exp(0) = 1
    return torch.exp(-token_lp.sum(dim=-1) / count).to(logits.dtype)  # (...)
