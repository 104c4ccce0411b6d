"""Correct, written differently from the reference: validates with one table of expected
shapes, fills a preallocated [T, B, H] buffer (created like x, so in x's dtype and device)
step by step with torch.addmm (bias + h W_hhᵀ) and an explicit per-step input product
instead of one product over all steps and torch.stack, and returns h_last as a clone of
the last row; float16/bfloat16 are upcast to float32 and cast back at the end."""

import torch


def rnn_forward(x, h0, W_xh, W_hh, b_h):
    if h0 is None:
        raise ValueError("h0 must be a tensor [B, H]")
    if x.dim() != 3 or W_hh.dim() != 2:
        raise ValueError("x must be [T, B, I] and W_hh [H, H]")
    steps, batch, n_in = x.shape
    hidden = W_hh.shape[0]
    for name, tensor, shape in (
        ("h0", h0, (batch, hidden)),
        ("W_xh", W_xh, (hidden, n_in)),
        ("W_hh", W_hh, (hidden, hidden)),
        ("b_h", b_h, (hidden,)),
    ):
        if tuple(tensor.shape) != shape:
            raise ValueError(f"{name}: expected shape {shape}, got {tuple(tensor.shape)}")
    out_dtype = x.dtype
    work = torch.float32 if out_dtype in (torch.float16, torch.bfloat16) else out_dtype
    W_xh_t, W_hh_t, bias = W_xh.to(work).t(), W_hh.to(work).t(), b_h.to(work)
    buffer = x.new_empty((steps, batch, hidden), dtype=work)
    h = h0.to(work)
    for t in range(steps):
        h = torch.tanh(torch.addmm(bias, h, W_hh_t) + x[t].to(work).mm(W_xh_t))
        buffer[t] = h
    h_last = buffer[-1].clone() if steps else h0.clone()
    return buffer.to(out_dtype), h_last.to(out_dtype)
