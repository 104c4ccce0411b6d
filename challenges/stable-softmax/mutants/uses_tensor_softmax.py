"""Mistake: calls the forbidden Tensor methods x.softmax / x.log_softmax / x.logsumexp.

Diagnosis: does the work this challenge asks for
"""

import torch


def _check_dim(x, dim):
    if not -x.dim() <= dim < x.dim():
        raise ValueError(f"dim={dim} out of range")


def softmax(x, dim=-1):
    _check_dim(x, dim)
    p = x.float().softmax(dim)
    return torch.nan_to_num(p, nan=0.0).to(x.dtype)


def log_softmax(x, dim=-1):
    _check_dim(x, dim)
    return x.float().log_softmax(dim).to(x.dtype)


def logsumexp(x, dim=-1):
    _check_dim(x, dim)
    return x.float().logsumexp(dim).to(x.dtype)
