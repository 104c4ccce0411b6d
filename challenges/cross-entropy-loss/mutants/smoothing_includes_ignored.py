"""Mistake: ignored samples are left out of the NLL term but still add their smoothing term.

Diagnosis: still get the smoothing term
"""

import math

import torch


def _check(logits, target, label_smoothing, reduction):
    if logits.dim() != 2 or target.shape != logits.shape[:1]:
        raise ValueError("logits must be [N, C] and target [N]")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError("label_smoothing must be in [0, 1]")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"unknown reduction {reduction!r}")


def cross_entropy_loss(logits, target, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
    _check(logits, target, label_smoothing, reduction)
    x = logits.to(torch.promote_types(logits.dtype, torch.float32))
    m = x.amax(dim=-1, keepdim=True).detach()
    log_probs = x - m - torch.log(torch.exp(x - m).sum(dim=-1, keepdim=True))
    kept = target != ignore_index
    safe = torch.where(kept, target, torch.zeros_like(target))
    nll = -log_probs.gather(1, safe[:, None]).squeeze(1)
    smooth = -log_probs.mean(dim=-1)
    losses = (1.0 - label_smoothing) * torch.where(kept, nll, torch.zeros_like(nll)) + label_smoothing * smooth
    if reduction == "none":
        return losses.to(logits.dtype)
    total = losses.sum()
    if reduction == "sum":
        return total.to(logits.dtype)
    count = kept.sum()
    mean = total / count.clamp(min=1)
    return torch.where(count > 0, mean, torch.full_like(mean, math.nan)).to(logits.dtype)
