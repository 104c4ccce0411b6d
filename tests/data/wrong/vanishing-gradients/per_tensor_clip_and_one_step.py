"""Computes each state's gradient through one step only (the local Jacobian of the next
state), and clips every tensor by its own norm.

Diagnosis: through one step only
"""

import torch


def hidden_grad_norms(x, h0, W_xh, W_hh, b_h):
    T = x.shape[0]
    if T == 0:
        return x.new_empty(0)
    with torch.enable_grad():
        h = h0.detach().requires_grad_(True)
        hs = []
        for t in range(T):
            h = torch.tanh(x[t] @ W_xh.T + h @ W_hh.T + b_h)
            hs.append(h)
        norms = []
        for t in range(T - 1):
            (g,) = torch.autograd.grad(hs[t + 1].sum(), hs[t], retain_graph=True)
            norms.append(g.norm())
        norms.append(torch.ones_like(hs[-1]).norm())
    return torch.stack(norms).detach()


def clip_grad_norm(grads, max_norm):
    import math

    if math.isnan(max_norm) or max_norm < 0:
        raise ValueError("max_norm")
    if not grads:
        return [], 0.0
    total = float(torch.sqrt(sum(g.double().pow(2).sum() for g in grads)))
    out = []
    for g in grads:
        n = float(g.double().norm())
        out.append(g * (max_norm / (n + 1e-6)) if n > max_norm else g.clone())
    return out, total
