"""The three attention masks of an encoder-decoder Transformer (Vaswani et al., 2017).

    enc_self[b, 0, i, j] = ¬src_pad[b, j]                 [B, 1, S, S]
    dec_self[b, 0, i, j] = (j ≤ i) ∧ ¬tgt_pad[b, j]       [B, 1, T, T]
    cross[b, 0, i, j]    = ¬src_pad[b, j]                 [B, 1, T, S]

True = the query i may attend the key j. Only keys are masked (a padded query's row keeps
the formula); the axis of size 1 broadcasts over the heads. Cross-attention is never
causal: every target position may read the whole (unpadded) source.
"""

import torch


def make_masks(src_pad: torch.Tensor, tgt_pad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    if src_pad.dim() != 2 or tgt_pad.dim() != 2:
        raise ValueError(
            f"src_pad and tgt_pad must be 2-D [B, S] and [B, T], got {list(src_pad.shape)} and {list(tgt_pad.shape)}"
        )
    if src_pad.shape[0] != tgt_pad.shape[0]:
        raise ValueError(f"batch sizes differ: src_pad has {src_pad.shape[0]} rows, tgt_pad {tgt_pad.shape[0]}")
    B, S = src_pad.shape
    T = tgt_pad.shape[1]
    # Bool "may attend" per key; .bool() first: ~ on a 0/1 integer tensor gives -1/-2, not 1/0.
    src_keep = ~src_pad.bool()  # [B, S]
    tgt_keep = ~tgt_pad.bool()  # [B, T]
    enc_self = src_keep[:, None, None, :].expand(B, 1, S, S)  # key axis last; same for every query row
    cross = src_keep[:, None, None, :].expand(B, 1, T, S)  # padding only, never causal
    causal = torch.ones(T, T, dtype=torch.bool, device=tgt_pad.device).tril()  # j ≤ i, diagonal included
    dec_self = causal[None, None, :, :] & tgt_keep[:, None, None, :]  # [B, 1, T, T]
    return enc_self, dec_self, cross
