"""Uses retain_grad() and backward() on the inputs themselves: the values are right, but
when the caller's tensors require grad, backward() accumulates into their .grad.

Diagnosis: backward() accumulates into the .grad
"""

import math

import torch


def hidden_grad_norms(x, h0, W_xh, W_hh, b_h):
    if x.shape[0] == 0:
        return torch.zeros(0, dtype=x.dtype, device=x.device)
    with torch.enable_grad():
        h = h0.clone().requires_grad_(True) if not h0.requires_grad else h0
        outputs = []
        for t in range(x.shape[0]):
            h = torch.tanh(x[t] @ W_xh.t() + h @ W_hh.t() + b_h)
            h.retain_grad()
            outputs.append(h)
        outputs[-1].sum().backward()
    return torch.stack([o.grad.norm() for o in outputs])


def clip_grad_norm(grads, max_norm):
    if max_norm != max_norm or max_norm < 0:
        raise ValueError("bad max_norm")
    if len(grads) == 0:
        return [], 0.0
    total = math.sqrt(sum(float(g.double().pow(2).sum()) for g in grads))
    if total > max_norm:
        return [g * (max_norm / (total + 1e-6)) for g in grads], total
    return [g.clone() for g in grads], total
