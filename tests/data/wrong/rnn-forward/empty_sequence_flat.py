"""Wrong: for T = 0 returns an empty 1-D tensor, torch.tensor([]), instead of outputs [0, B, H].

Diagnosis: T = 0
"""

import torch


def rnn_forward(x, h0, W_xh, W_hh, b_h):
    if h0 is None:
        raise ValueError("h0 must be given")
    if x.ndim != 3 or h0.ndim != 2:
        raise ValueError("x must be [T, B, I] and h0 [B, H]")
    T, B, n_in = x.shape
    H = h0.shape[1]
    if h0.shape[0] != B or list(W_xh.shape) != [H, n_in] or list(W_hh.shape) != [H, H] or list(b_h.shape) != [H]:
        raise ValueError("shape mismatch")
    if T == 0:
        return torch.tensor([]), h0.clone()
    in_dtype = x.dtype
    if in_dtype in (torch.float16, torch.bfloat16):
        x, h0, W_xh, W_hh, b_h = x.float(), h0.float(), W_xh.float(), W_hh.float(), b_h.float()
    h = h0
    hs = []
    for t in range(T):
        h = torch.tanh(x[t] @ W_xh.t() + b_h + h @ W_hh.t())
        hs.append(h)
    outputs = torch.stack(hs)
    return outputs.to(in_dtype), outputs[-1].to(in_dtype)
