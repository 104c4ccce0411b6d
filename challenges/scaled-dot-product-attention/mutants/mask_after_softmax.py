"""Applies the mask after the softmax, zeroing weights without renormalising.

Diagnosis: masking after the softmax
"""

import math

import torch


def _check(Q, K, V, mask):
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError("Q and K feature sizes differ")
    if K.shape[-2] != V.shape[-2]:
        raise ValueError("K and V lengths differ")
    if mask is not None:
        target = (*Q.shape[:-1], K.shape[-2])
        try:
            ok = torch.broadcast_shapes(mask.shape, target) == target
        except RuntimeError:
            ok = False
        if not ok:
            raise ValueError("mask does not broadcast")


def scaled_dot_product_attention(Q, K, V, mask=None):
    _check(Q, K, V, mask)
    q, k, v = Q.float(), K.float(), V.float()
    if Q.dtype == torch.float64:
        q, k, v = Q, K, V
    d = Q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d)
    if mask is None:
        weights = torch.softmax(scores, dim=-1)
    else:
        allowed = mask != 0
        has_key = allowed.any(dim=-1, keepdim=True)
        weights = torch.softmax(scores, dim=-1) * allowed
    output = weights @ v
    return output.to(V.dtype), weights.to(Q.dtype)


def causal_mask(q_len, k_len=None, device=None):
    if k_len is None:
        k_len = q_len
    if q_len < 0 or k_len < 0 or q_len > k_len:
        raise ValueError("bad lengths")
    return torch.ones(q_len, k_len, dtype=torch.bool, device=device).tril(diagonal=k_len - q_len)
