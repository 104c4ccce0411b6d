"""Wrong: combines the decoder's causal and padding conditions with OR instead of AND,
so a query sees every earlier key (padded or not) and every unpadded future key.

Diagnosis: AND
"""

import torch


def make_masks(src_pad, tgt_pad):
    if src_pad.dim() != 2 or tgt_pad.dim() != 2 or src_pad.size(0) != tgt_pad.size(0):
        raise ValueError("bad shapes")
    B, S = src_pad.shape
    T = tgt_pad.size(1)
    src_ok = torch.logical_not(src_pad.bool())
    tgt_ok = torch.logical_not(tgt_pad.bool())
    past = torch.arange(T, device=tgt_pad.device)[None, :] <= torch.arange(T, device=tgt_pad.device)[:, None]
    enc = src_ok.view(B, 1, 1, S).expand(B, 1, S, S)
    dec = past.view(1, 1, T, T) | tgt_ok.view(B, 1, 1, T)
    cross = src_ok.view(B, 1, 1, S).expand(B, 1, T, S)
    return enc, dec, cross
