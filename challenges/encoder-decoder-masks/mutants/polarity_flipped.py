"""The padding polarity is flipped: src_pad/tgt_pad (True at padding) are used as 'may attend'.

Diagnosis: polarity
"""

import torch


def make_masks(src_pad, tgt_pad):
    if src_pad.dim() != 2 or tgt_pad.dim() != 2:
        raise ValueError("src_pad and tgt_pad must be 2-D")
    if src_pad.shape[0] != tgt_pad.shape[0]:
        raise ValueError("batch sizes differ")
    B, S = src_pad.shape
    T = tgt_pad.shape[1]
    src_keep = src_pad.bool()
    tgt_keep = tgt_pad.bool()
    causal = torch.ones(T, T, dtype=torch.bool, device=tgt_pad.device).tril()
    enc_self = src_keep[:, None, None, :].expand(B, 1, S, S)
    dec_self = causal[None, None, :, :] & tgt_keep[:, None, None, :]
    cross = src_keep[:, None, None, :].expand(B, 1, T, S)
    return enc_self, dec_self, cross
