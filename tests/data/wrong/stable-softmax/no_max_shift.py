"""Wrong: softmax, log_softmax and logsumexp straight from the formula, without
subtracting the maximum first, so exp overflows to inf on large logits (nan results).

Diagnosis: subtract the maximum
"""

import torch


def _check_dim(x: torch.Tensor, dim: int) -> None:
    if not -x.dim() <= dim < x.dim():
        raise ValueError(f"dim={dim} out of range")


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    _check_dim(x, dim)
    e = torch.exp(x.float() if x.dtype in (torch.float16, torch.bfloat16) else x)
    total = e.sum(dim=dim, keepdim=True)
    return torch.where(total > 0, e / total, torch.zeros_like(e)).to(x.dtype)


def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    _check_dim(x, dim)
    return (x - logsumexp(x, dim).unsqueeze(dim)).to(x.dtype)


def logsumexp(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    _check_dim(x, dim)
    y = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    return torch.log(torch.exp(y).sum(dim=dim)).to(x.dtype)
