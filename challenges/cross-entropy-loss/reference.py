"""The cross-entropy training loss, as torch.nn.functional.cross_entropy computes it.

For logits z [N, C] and targets t [N], the loss of sample i is −log softmax(zᵢ)[tᵢ],
computed stably as logsumexp(zᵢ) − zᵢ,tᵢ. Label smoothing (Szegedy et al., "Rethinking
the Inception Architecture for Computer Vision", 2016, §7) trains against the mixture
(1 − ε)·onehot(tᵢ) + ε·uniform(C), so the loss becomes
(1 − ε)·(−log pᵢ,tᵢ) + ε·mean_c(−log pᵢ,c). Samples whose target equals ignore_index
contribute nothing, and the mean is over the samples that are not ignored (PyTorch's
convention: all ignored gives nan, with zero gradients).
"""

import math

import torch

REDUCTIONS = ("none", "mean", "sum")


def _check_args(logits: torch.Tensor, target: torch.Tensor, label_smoothing: float, reduction: str) -> None:
    """Raise ValueError unless logits [N, C], target [N], 0 <= label_smoothing <= 1 and a known reduction."""
    if logits.dim() != 2:
        raise ValueError(f"logits must have shape [N, C], got {list(logits.shape)}")
    if target.shape != logits.shape[:1]:
        raise ValueError(f"target must have shape [{logits.shape[0]}], got {list(target.shape)}")
    if not 0.0 <= label_smoothing <= 1.0:  # also rejects nan
        raise ValueError(f"label_smoothing must be in [0, 1], got {label_smoothing}")
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {', '.join(REDUCTIONS)}, got {reduction!r}")


def _log_softmax(x: torch.Tensor) -> torch.Tensor:
    """x − logsumexp(x) over the last dim, with the row maximum subtracted first."""
    m = x.amax(dim=-1, keepdim=True).detach()  # (N, 1) a constant shift
    z = x - m  # (N, C) every entry <= 0
    return z - torch.log(torch.exp(z).sum(dim=-1, keepdim=True))  # (N, C)


def cross_entropy_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    ignore_index: int = -100,
    label_smoothing: float = 0.0,
    reduction: str = "mean",
) -> torch.Tensor:
    """Cross-entropy of logits [N, C] against class ids target [N]; like F.cross_entropy.

    Example: logits [[2, 1, 0], [0, 0, 3]] and target [0, 2] give per-sample losses
    [0.4076, 0.0949] and a mean of 0.2513.
    """
    _check_args(logits, target, label_smoothing, reduction)
    x = logits.to(torch.promote_types(logits.dtype, torch.float32))  # (N, C) float16 -> float32
    log_probs = _log_softmax(x)  # (N, C)
    kept = target != ignore_index  # (N,)
    safe_target = torch.where(kept, target, torch.zeros_like(target))  # (N,) ignored ids never looked up
    losses = -log_probs.gather(1, safe_target[:, None]).squeeze(1)  # (N,) −log p(target)
    if label_smoothing > 0:
        uniform = -log_probs.mean(dim=-1)  # (N,) cross-entropy against the uniform distribution
        losses = (1.0 - label_smoothing) * losses + label_smoothing * uniform  # (N,)
    losses = torch.where(kept, losses, torch.zeros_like(losses))  # (N,) ignored samples: 0
    if reduction == "none":
        return losses.to(logits.dtype)  # (N,)
    total = losses.sum()  # ()
    if reduction == "sum":
        return total.to(logits.dtype)  # ()
    count = kept.sum()  # () samples not ignored
    mean = total / count.clamp(min=1)  # () the gradient path stays finite when count is 0
    return torch.where(count > 0, mean, torch.full_like(mean, math.nan)).to(logits.dtype)  # () nan if all ignored
