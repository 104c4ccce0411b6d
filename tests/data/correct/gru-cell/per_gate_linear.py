"""Correct, written differently from the reference: each gate has its own F.linear on
row slices of the stacked weights (no fused [B, 3H] product and no chunk), float16 and
bfloat16 are computed in float32 and cast back, the candidate is written as
n = tanh(a + r * b) with named helper functions, and gru fills a preallocated
[T, B, H] tensor instead of stacking a list.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

_LOW_PRECISION = (torch.float16, torch.bfloat16)


class GRUCell(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        k = 1.0 / math.sqrt(hidden_size)
        self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size).uniform_(-k, k))
        self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size).uniform_(-k, k))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(3 * hidden_size).uniform_(-k, k))
            self.bias_hh = nn.Parameter(torch.empty(3 * hidden_size).uniform_(-k, k))
        else:
            self.bias_ih = None
            self.bias_hh = None

    def _block(self, tensor, gate, dtype):
        """Rows of gate ``gate`` (0 = r, 1 = z, 2 = n) of a stacked weight or bias, in ``dtype``."""
        if tensor is None:
            return None
        H = self.hidden_size
        return tensor[gate * H : (gate + 1) * H].to(dtype)

    def _parts(self, x, h, gate, dtype):
        """(input part, hidden part) of one gate's pre-activation, each with its own bias."""
        from_x = F.linear(x, self._block(self.weight_ih, gate, dtype), self._block(self.bias_ih, gate, dtype))
        from_h = F.linear(h, self._block(self.weight_hh, gate, dtype), self._block(self.bias_hh, gate, dtype))
        return from_x, from_h

    def forward(self, x, h=None):
        if x.ndim != 2:
            raise ValueError("x must be 2-D [B, I]")
        if x.size(1) != self.input_size:
            raise ValueError(f"x has {x.size(1)} features, expected {self.input_size}")
        work = torch.float32 if x.dtype in _LOW_PRECISION else x.dtype
        if h is None:
            h = torch.zeros(x.size(0), self.hidden_size, dtype=x.dtype, device=x.device)
        xw, hw = x.to(work), h.to(work)
        r = torch.sigmoid(sum(self._parts(xw, hw, 0, work)))
        z = torch.sigmoid(sum(self._parts(xw, hw, 1, work)))
        a, b = self._parts(xw, hw, 2, work)
        n = torch.tanh(a + r * b)
        h_next = torch.lerp(n, hw, z)  # n + z (h - n) = (1 - z) n + z h
        return h_next.to(x.dtype)


def gru(x, cell, h=None):
    if x.ndim != 3:
        raise ValueError("x must be 3-D [T, B, I]")
    steps, batch = x.shape[:2]
    outputs = x.new_empty(steps, batch, cell.hidden_size)
    for t in range(steps):
        h = cell(x[t], h)
        outputs[t] = h
    return outputs, outputs[-1]
