"""Correct, written differently from the reference: the masks are built by broadcasting
comparisons of position indices (arange) and an outer product with torch.einsum on 0/1
integers, then converted to bool; the results are contiguous tensors, not expanded views."""

import torch


def make_masks(src_pad, tgt_pad):
    if src_pad.ndim != 2 or tgt_pad.ndim != 2:
        raise ValueError("src_pad and tgt_pad must be 2-D")
    if src_pad.shape[0] != tgt_pad.shape[0]:
        raise ValueError("batch sizes differ")
    B, S = src_pad.shape
    T = tgt_pad.shape[1]
    dev = src_pad.device
    src_ok = (src_pad == 0).long()  # 1 where the source key is real
    tgt_ok = (tgt_pad == 0).long()
    rows_s = torch.ones(B, S, dtype=torch.long, device=dev)
    rows_t = torch.ones(B, T, dtype=torch.long, device=dev)
    enc = torch.einsum("bi,bj->bij", rows_s, src_ok).unsqueeze(1) == 1
    cross = torch.einsum("bi,bj->bij", rows_t, src_ok).unsqueeze(1) == 1
    pos = torch.arange(T, device=dev)
    causal = (pos.view(T, 1) - pos.view(1, T)) >= 0  # key j not after query i
    dec = (torch.einsum("bi,bj->bij", rows_t, tgt_ok) == 1) & causal
    return enc, dec.unsqueeze(1), cross
