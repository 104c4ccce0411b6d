"""Wrong: uses torch's "square subsequent mask" triu(ones, 1) (True = the future, which
nn.Transformer blocks) as the allowed set, so each query may attend only future keys.

Diagnosis: future
"""

import torch


def make_masks(src_pad, tgt_pad):
    if src_pad.dim() != 2 or tgt_pad.dim() != 2:
        raise ValueError("not 2-D")
    if src_pad.shape[0] != tgt_pad.shape[0]:
        raise ValueError("batch")
    B, S = src_pad.shape
    T = tgt_pad.shape[1]
    keep_src = ~src_pad.bool()
    keep_tgt = ~tgt_pad.bool()
    subsequent = torch.triu(torch.ones(T, T, dtype=torch.bool, device=tgt_pad.device), diagonal=1)
    enc = keep_src[:, None, None, :].repeat(1, 1, S, 1)
    dec = subsequent[None, None] & keep_tgt[:, None, None, :]
    cross = keep_src[:, None, None, :].repeat(1, 1, T, 1)
    return enc, dec, cross
