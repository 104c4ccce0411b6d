"""Mistake: exponentiates x directly (no max subtraction), so exp overflows for large inputs.

Diagnosis: maximum is not subtracted
"""

import torch


def _check_dim(x, dim):
    if not -x.dim() <= dim < x.dim():
        raise ValueError(f"dim={dim} out of range")


def softmax(x, dim=-1):
    _check_dim(x, dim)
    e = torch.exp(x.float() if x.dtype in (torch.float16, torch.bfloat16) else x)
    return (e / e.sum(dim=dim, keepdim=True)).to(x.dtype)


def log_softmax(x, dim=-1):
    _check_dim(x, dim)
    xc = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    return (xc - torch.log(torch.exp(xc).sum(dim=dim, keepdim=True))).to(x.dtype)


def logsumexp(x, dim=-1):
    _check_dim(x, dim)
    xc = x.float() if x.dtype in (torch.float16, torch.bfloat16) else x
    return torch.log(torch.exp(xc).sum(dim=dim)).to(x.dtype)
