"""Numerically stable softmax, log-softmax and logsumexp.

Implements the max-subtraction ("log-sum-exp") trick: for any constant m,
logsumexp(x) = m + log Σ exp(x − m), and softmax(x) = exp(x − m) / Σ exp(x − m).
Choosing m = max(x) makes every exponent ≤ 0, so nothing overflows, and the largest term
is exp(0) = 1, so the sum never underflows to 0 either (see Goodfellow, Bengio and
Courville, "Deep Learning", §4.1, or Blanchard, Higham and Higham, "Accurately computing
the log-sum-exp and softmax functions", 2021). float16/bfloat16 inputs are computed in
float32 and the results cast back.
"""

import torch


def _check_dim(x: torch.Tensor, dim: int) -> None:
    """Raise ValueError unless ``dim`` names one of x's dimensions (negative counts from the end)."""
    if not -x.dim() <= dim < x.dim():
        raise ValueError(f"dim={dim} is out of range for a tensor with {x.dim()} dimensions")


def _shifted(x: torch.Tensor, dim: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x − m, m, Σ exp(x − m)) along ``dim`` (kept as size 1), computed in at least float32.

    m is the maximum along ``dim``, or 0 for a slice that is all −inf (so that −inf − m
    stays −inf instead of becoming nan). m is a constant shift: it is detached.
    """
    x = x.to(torch.promote_types(x.dtype, torch.float32))  # (...) float16/bfloat16 -> float32
    m = x.amax(dim=dim, keepdim=True).detach()  # (..., 1, ...)
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))  # (..., 1, ...) all -inf -> 0
    z = x - m  # (...) every entry <= 0
    total = torch.exp(z).sum(dim=dim, keepdim=True)  # (..., 1, ...) >= 1, or 0 for an all -inf slice
    return z, m, total


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """exp(x) / Σ exp(x) along ``dim``; a slice that is all −inf gives zeros.

    Example: softmax(tensor([1., 2., 3.])) == tensor([0.0900, 0.2447, 0.6652]).
    """
    _check_dim(x, dim)
    z, _, total = _shifted(x, dim)
    safe_total = torch.where(total > 0, total, torch.ones_like(total))  # (..., 1, ...) no 0/0
    return (torch.exp(z) / safe_total).to(x.dtype)  # (...)


def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """x − logsumexp(x) along ``dim``, without forming exp(x) or log(softmax).

    Example: log_softmax(tensor([1., 2., 3.])) == tensor([-2.4076, -1.4076, -0.4076]).
    """
    _check_dim(x, dim)
    z, _, total = _shifted(x, dim)
    return (z - torch.log(total)).to(x.dtype)  # (...)


def logsumexp(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """log Σ exp(x) along ``dim``, which is removed; an all −inf slice gives −inf.

    Example: logsumexp(tensor([1., 2., 3.])) == tensor(3.4076).
    """
    _check_dim(x, dim)
    _, m, total = _shifted(x, dim)
    return (m + torch.log(total)).squeeze(dim).to(x.dtype)  # (...) without dim
