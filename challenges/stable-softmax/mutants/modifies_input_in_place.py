"""Mistake: subtracts the maximum from x in place (x.sub_), changing the caller's tensor.

Diagnosis: modified in place
"""

import torch


def _prep(x, dim):
    if not -x.dim() <= dim < x.dim():
        raise ValueError(f"dim={dim} out of range")
    m = x.amax(dim=dim, keepdim=True).detach()
    m = torch.where(torch.isfinite(m), m, torch.zeros_like(m))
    if x.requires_grad:
        z = x - m
    else:
        z = x.sub_(m)
    z = z.to(torch.promote_types(x.dtype, torch.float32))
    return z, m.to(z.dtype), torch.exp(z).sum(dim=dim, keepdim=True)


def softmax(x, dim=-1):
    z, _, s = _prep(x, dim)
    return (torch.exp(z) / torch.where(s > 0, s, torch.ones_like(s))).to(x.dtype)


def log_softmax(x, dim=-1):
    z, _, s = _prep(x, dim)
    return (z - torch.log(s)).to(x.dtype)


def logsumexp(x, dim=-1):
    _, m, s = _prep(x, dim)
    return (m + torch.log(s)).squeeze(dim).to(x.dtype)
