"""Wrong: logsumexp subtracts the maximum before exp but forgets to add it back
afterwards (returns log Σ exp(x − m) instead of m + log Σ exp(x − m)). softmax and
log_softmax are right.

Diagnosis: add the maximum back
"""

import torch


def _check_dim(x: torch.Tensor, dim: int) -> None:
    if not -x.dim() <= dim < x.dim():
        raise ValueError(f"dim={dim} out of range")


def _shift(x: torch.Tensor, dim: int):
    y = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    m = y.amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    z = y - m
    return z, torch.exp(z).sum(dim=dim, keepdim=True)


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    _check_dim(x, dim)
    z, total = _shift(x, dim)
    total = torch.where(total > 0, total, torch.ones_like(total))
    return (torch.exp(z) / total).to(x.dtype)


def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    _check_dim(x, dim)
    z, total = _shift(x, dim)
    return (z - torch.log(total)).to(x.dtype)


def logsumexp(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    _check_dim(x, dim)
    _, total = _shift(x, dim)
    return torch.log(total).squeeze(dim).to(x.dtype)
