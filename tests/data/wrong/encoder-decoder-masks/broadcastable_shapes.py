"""Wrong: returns the padding masks in their broadcastable form [B, 1, 1, S] (what
attention would broadcast anyway) instead of the [B, 1, S, S] and [B, 1, T, S] asked for.

Diagnosis: expand
"""

import torch


def make_masks(src_pad, tgt_pad):
    if src_pad.ndim != 2 or tgt_pad.ndim != 2:
        raise ValueError("inputs must be 2-D")
    if len(src_pad) != len(tgt_pad):
        raise ValueError("batch sizes differ")
    src_ok = src_pad == 0
    tgt_ok = tgt_pad == 0
    T = tgt_pad.shape[1]
    tri = torch.tril(torch.ones(T, T, dtype=torch.bool, device=tgt_pad.device))
    enc = src_ok.unsqueeze(1).unsqueeze(1)
    dec = tri.unsqueeze(0).unsqueeze(0) & tgt_ok.unsqueeze(1).unsqueeze(1)
    return enc, dec, enc
