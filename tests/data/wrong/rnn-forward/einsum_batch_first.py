"""Wrong: works batch first with einsum and stacks the states along dim 1, [B, T, H].

Diagnosis: batch first
"""

import torch


def rnn_forward(x, h0, W_xh, W_hh, b_h):
    if h0 is None:
        raise ValueError("h0 is required")
    if x.dim() != 3:
        raise ValueError("x must be 3-D")
    H = W_hh.shape[0]
    if tuple(h0.shape) != (x.shape[1], H) or tuple(W_xh.shape) != (H, x.shape[2]):
        raise ValueError("bad h0 or W_xh")
    if tuple(W_hh.shape) != (H, H) or tuple(b_h.shape) != (H,):
        raise ValueError("bad W_hh or b_h")
    dtype = x.dtype
    work = torch.float32 if dtype in (torch.float16, torch.bfloat16) else dtype
    xb = x.to(work).permute(1, 0, 2)  # [B, T, I]
    h = h0.to(work)
    states = []
    for t in range(xb.shape[1]):
        h = torch.tanh(
            torch.einsum("bi,hi->bh", xb[:, t], W_xh.to(work))
            + torch.einsum("bk,hk->bh", h, W_hh.to(work))
            + b_h.to(work)
        )
        states.append(h)
    if not states:
        return x.new_zeros(0, x.shape[1], H), h0.clone()
    outputs = torch.stack(states, dim=1)  # [B, T, H]
    return outputs.to(dtype), h.to(dtype)
