"""Takes one norm per batch element (g.norm(dim=-1)), returning [T, B] instead of [T].

Diagnosis: one norm per batch element
"""

import math

import torch


def hidden_grad_norms(
    x: torch.Tensor, h0: torch.Tensor, W_xh: torch.Tensor, W_hh: torch.Tensor, b_h: torch.Tensor
) -> torch.Tensor:
    """‖∂L/∂outputs[t]‖₂ for t = 0..T−1, with L = outputs[T−1].sum().

    Example: H = 1, W_hh = [[0.5]], x = 0, h0 = 0 (so every state is 0 and tanh' = 1),
    T = 3 gives tensor([0.25, 0.5, 1.0]).
    """
    steps = x.shape[0]
    if steps == 0:
        return x.new_empty(0)  # (0,): x's dtype and device
    with torch.enable_grad():
        # Work on detached copies: nothing here may touch the caller's tensors or their .grad.
        x, W_xh, W_hh, b_h = (t.detach() for t in (x, W_xh, W_hh, b_h))
        h = h0.detach().requires_grad_(True)  # (B, H): a leaf, so every later state is in the graph
        outputs = []
        for x_t in x:  # x_t: (B, I)
            h = torch.tanh(x_t @ W_xh.T + h @ W_hh.T + b_h)  # (B, H), not detached: the chain stays whole
            outputs.append(h)
        loss = outputs[-1].sum()  # L = the last state summed
        # autograd.grad w.r.t. intermediate states gives each one's total derivative (every path);
        # unlike backward() it accumulates into no .grad.
        grads = torch.autograd.grad(loss, outputs)  # T tensors (B, H)
    return torch.stack(grads).norm(dim=-1)  # (T, B)


def clip_grad_norm(grads: list[torch.Tensor], max_norm: float) -> tuple[list[torch.Tensor], float]:
    """Scale ``grads`` so that their global 2-norm is at most ``max_norm``.

    Returns (new tensors, the global norm before clipping as a float). Clips only when the
    norm is strictly greater than max_norm, by the factor max_norm / (norm + 1e−6).

    Example: clip_grad_norm([tensor([3.]), tensor([4.])], 1.0) -> ([tensor([0.6]), tensor([0.8])], 5.0)
    (to about 1e−7).
    """
    if math.isnan(max_norm) or max_norm < 0:
        raise ValueError(f"max_norm must be a non-negative number, got {max_norm}")
    if not grads:
        return [], 0.0
    # Accumulate the squares in at least float32 (float16 squares overflow at 256) on the first tensor's device.
    acc = torch.promote_types(grads[0].dtype, torch.float32)
    for g in grads[1:]:
        acc = torch.promote_types(acc, g.dtype)
    device = grads[0].device
    squares = torch.stack([g.detach().to(device, acc).pow(2).sum() for g in grads])  # (n,)
    total_norm = float(squares.sum().sqrt())  # the norm BEFORE clipping
    if total_norm > max_norm:  # strictly greater: a norm equal to max_norm is left alone
        scale = max_norm / (total_norm + 1e-6)
        clipped = [(g.detach().to(acc) * scale).to(g.dtype) for g in grads]  # new tensors, same dtype and device
    else:
        clipped = [g.detach().clone() for g in grads]  # new tensors even when nothing changes
    return clipped, total_norm
