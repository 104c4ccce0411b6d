"""Clips when the norm reaches max_norm (>=) and returns the norm of the clipped gradients.

Diagnosis: returns the norm after clipping
"""

import torch


def hidden_grad_norms(x, h0, W_xh, W_hh, b_h):
    T = x.shape[0]
    if T == 0:
        return x.new_zeros(0)
    with torch.enable_grad():
        h = h0.detach().clone().requires_grad_()
        hs = []
        for t in range(T):
            h = torch.tanh(x[t] @ W_xh.T + h @ W_hh.T + b_h)
            hs.append(h)
        grads = torch.autograd.grad(hs[-1].sum(), hs)
    return torch.stack([torch.linalg.vector_norm(g) for g in grads]).detach()


def clip_grad_norm(grads, max_norm):
    if not max_norm >= 0:
        raise ValueError("max_norm must be >= 0")
    if not grads:
        return [], 0.0
    total = torch.sqrt(sum((g.double() ** 2).sum() for g in grads))
    out = [g.clone() for g in grads]
    if total >= max_norm:
        coef = max_norm / (total + 1e-6)
        out = [(g.double() * coef).to(g.dtype) for g in grads]
    after = torch.sqrt(sum((g.double() ** 2).sum() for g in out))
    return out, float(after)
