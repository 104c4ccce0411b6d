"""Wrong: label smoothing spreads ε over the C − 1 other classes only (target gets 1 − ε,
the others ε/(C − 1)) instead of ε/C over all C classes, the target included.

Diagnosis: all C classes
"""

import torch


def cross_entropy_loss(logits, target, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
    if logits.dim() != 2 or target.shape != logits.shape[:1]:
        raise ValueError("logits must be [N, C] and target [N]")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError("label_smoothing must be in [0, 1]")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(f"unknown reduction {reduction!r}")
    x = logits.float() if logits.dtype in (torch.float16, torch.bfloat16) else logits
    n, c = x.shape
    logp = x - torch.logsumexp(x, dim=-1, keepdim=True)
    kept = target != ignore_index
    safe = torch.where(kept, target, torch.zeros_like(target))
    onehot = torch.nn.functional.one_hot(safe, c).to(x.dtype)
    if c > 1:
        dist = (1 - label_smoothing) * onehot + label_smoothing / (c - 1) * (1 - onehot)
    else:
        dist = onehot
    loss = -(dist * logp).sum(dim=-1)
    loss = torch.where(kept, loss, torch.zeros_like(loss))
    if reduction == "none":
        return loss.to(logits.dtype)
    if reduction == "sum":
        return loss.sum().to(logits.dtype)
    count = kept.sum()
    return (loss.sum() / count).to(logits.dtype)
