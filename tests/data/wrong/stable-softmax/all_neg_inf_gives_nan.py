"""Wrong: the max is subtracted, but a slice that is all -inf has max -inf, and
-inf - (-inf) is nan: softmax and logsumexp of such a slice give nan instead of 0 / -inf.

Diagnosis: all -inf
"""

import torch


def _check_dim(x: torch.Tensor, dim: int) -> None:
    if not -x.dim() <= dim < x.dim():
        raise ValueError(f"dim={dim} out of range")


def _up(x: torch.Tensor) -> torch.Tensor:
    return x.float() if x.dtype in (torch.float16, torch.bfloat16) else x


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    _check_dim(x, dim)
    y = _up(x)
    m = y.amax(dim=dim, keepdim=True).detach()
    e = torch.exp(y - m)
    return (e / e.sum(dim=dim, keepdim=True)).to(x.dtype)


def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    _check_dim(x, dim)
    y = _up(x)
    m = y.amax(dim=dim, keepdim=True).detach()
    z = y - m
    return (z - torch.log(torch.exp(z).sum(dim=dim, keepdim=True))).to(x.dtype)


def logsumexp(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    _check_dim(x, dim)
    y = _up(x)
    m = y.amax(dim=dim, keepdim=True).detach()
    return (m + torch.log(torch.exp(y - m).sum(dim=dim, keepdim=True))).squeeze(dim).to(x.dtype)
