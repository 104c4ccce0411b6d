"""Mistake: subtracts the max without handling an all -inf slice, whose max -inf gives nan.

Diagnosis: all -inf
"""

import torch


def _prep(x, dim):
    if not -x.dim() <= dim < x.dim():
        raise ValueError(f"dim={dim} out of range")
    xc = x.to(torch.promote_types(x.dtype, torch.float32))
    m = xc.amax(dim=dim, keepdim=True).detach()
    z = xc - m
    return z, m, torch.exp(z).sum(dim=dim, keepdim=True)


def softmax(x, dim=-1):
    z, _, s = _prep(x, dim)
    return (torch.exp(z) / s).to(x.dtype)


def log_softmax(x, dim=-1):
    z, _, s = _prep(x, dim)
    return (z - torch.log(s)).to(x.dtype)


def logsumexp(x, dim=-1):
    _, m, s = _prep(x, dim)
    return (m + torch.log(s)).squeeze(dim).to(x.dtype)
