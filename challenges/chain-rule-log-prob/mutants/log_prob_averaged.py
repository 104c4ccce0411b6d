"""Mistake: sequence_log_prob averages the log-probabilities instead of summing them (chain rule).

Diagnosis: does not average
"""

import torch


def _check(logits, tokens, mask):
    if logits.dim() < 2 or tokens.shape != logits.shape[:-1]:
        raise ValueError("tokens must have shape logits.shape[:-1]")
    if mask is not None:
        try:
            ok = torch.broadcast_shapes(mask.shape, tokens.shape) == tokens.shape
        except RuntimeError:
            ok = False
        if not ok:
            raise ValueError("mask does not broadcast to tokens")


def _log_probs(logits, tokens, mask):
    _check(logits, tokens, mask)
    counted = torch.ones_like(tokens, dtype=torch.bool) if mask is None else (mask != 0).expand(tokens.shape)
    ids = torch.where(counted, tokens, torch.zeros_like(tokens))
    x = logits.to(torch.promote_types(logits.dtype, torch.float32))
    m = x.amax(dim=-1, keepdim=True).detach()
    lp = x - m - torch.log(torch.exp(x - m).sum(dim=-1, keepdim=True))
    picked = lp.gather(-1, ids.unsqueeze(-1)).squeeze(-1)
    return torch.where(counted, picked, torch.zeros_like(picked)), counted


def sequence_log_prob(logits, tokens, mask=None):
    lp, counted = _log_probs(logits, tokens, mask)
    return (lp.sum(dim=-1) / counted.sum(dim=-1).clamp(min=1)).to(logits.dtype)


def perplexity(logits, tokens, mask=None):
    lp, counted = _log_probs(logits, tokens, mask)
    count = counted.sum(dim=-1).clamp(min=1)
    return torch.exp(-lp.sum(dim=-1) / count).to(logits.dtype)
