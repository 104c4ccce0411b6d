"""Wrong: fills a buffer made with torch.zeros(T, B, H), which is float32 whatever the inputs.

Diagnosis: float64 inputs give float32 results
"""

import torch


def rnn_forward(x, h0, W_xh, W_hh, b_h):
    if h0 is None or x.dim() != 3:
        raise ValueError("x must be [T, B, I] and h0 is required")
    T, B, n_in = x.shape
    H = W_hh.shape[0]
    if h0.shape != (B, H) or W_xh.shape != (H, n_in) or W_hh.shape != (H, H) or b_h.shape != (H,):
        raise ValueError("inconsistent shapes")
    outputs = torch.zeros(T, B, H)
    h = h0
    for t in range(T):
        h = torch.tanh(x[t] @ W_xh.T + h @ W_hh.T + b_h)
        outputs[t] = h
    return outputs, h.clone()
