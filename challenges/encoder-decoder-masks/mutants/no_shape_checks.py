"""No input checks: 1-D inputs crash with an IndexError and differing batch sizes run.

Diagnosis: not checked
"""

import torch


def make_masks(src_pad, tgt_pad):
    B, S = src_pad.shape
    T = tgt_pad.shape[1]
    src_keep = ~src_pad.bool()
    tgt_keep = ~tgt_pad.bool()
    causal = torch.ones(T, T, dtype=torch.bool, device=tgt_pad.device).tril()
    enc_self = src_keep[:, None, None, :].expand(B, 1, S, S)
    dec_self = causal[None, None, :, :] & tgt_keep[:, None, None, :]
    cross = src_keep[:, None, None, :].expand(B, 1, T, S)
    return enc_self, dec_self, cross
