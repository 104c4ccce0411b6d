"""Takes an ordinary softmax within each block and sums the blocks' outputs, as if each
block were the whole row: there is no normaliser shared across the blocks.

Diagnosis: normalised within each chunk
"""

import math

import torch


def chunked_attention(Q, K, V, causal=False, chunk_size=128):
    if type(chunk_size) is not int or chunk_size < 1:
        raise ValueError(f"chunk_size must be a Python int >= 1, got {chunk_size!r}")
    if Q.shape[-1] != K.shape[-1] or K.shape[-2] != V.shape[-2]:
        raise ValueError("Q, K and V do not fit together")
    Lq, Lk = Q.shape[-2], K.shape[-2]
    if causal and Lq > Lk:
        raise ValueError("causal attention needs Lq <= Lk")
    compute = torch.promote_types(Q.dtype, torch.float32)
    q = Q.to(compute) / math.sqrt(Q.shape[-1])  # (..., Lq, d)
    out = torch.zeros((*Q.shape[:-1], V.shape[-1]), dtype=compute, device=Q.device)  # (..., Lq, dv)
    query_pos = torch.arange(Lk - Lq, Lk, device=Q.device)[:, None]  # (Lq, 1)
    for start in range(0, Lk, chunk_size):
        k = K[..., start : start + chunk_size, :].to(compute)  # (..., C, d)
        v = V[..., start : start + chunk_size, :].to(compute)  # (..., C, dv)
        scores = q @ k.transpose(-2, -1)  # (..., Lq, C)
        if causal:
            key_pos = torch.arange(start, start + k.shape[-2], device=Q.device)[None, :]  # (1, C)
            scores = scores.masked_fill(key_pos > query_pos, float("-inf"))
        weights = torch.nan_to_num(torch.softmax(scores, dim=-1), nan=0.0)  # BUG: normalised per block
        out = out + weights @ v
    return out.to(Q.dtype)
