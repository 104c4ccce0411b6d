"""Wrong: "mean" divides the summed loss by N, the number of all samples, instead of by
the number of samples that are not ignored (padding dilutes the loss).

Diagnosis: not ignored
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
    logp = x - torch.logsumexp(x, dim=-1, keepdim=True)
    kept = target != ignore_index
    safe = torch.where(kept, target, torch.zeros_like(target))
    loss = -logp.gather(1, safe[:, None]).squeeze(1)
    if label_smoothing > 0:
        loss = (1 - label_smoothing) * loss - label_smoothing * logp.mean(dim=-1)
    loss = torch.where(kept, loss, torch.zeros_like(loss))
    if reduction == "none":
        return loss.to(logits.dtype)
    if reduction == "sum":
        return loss.sum().to(logits.dtype)
    return (loss.sum() / len(target)).to(logits.dtype)
