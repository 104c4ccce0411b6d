"""Builds the whole [Lq, Lk] score matrix and takes an ordinary softmax: right values, but
memory grows with Lq·Lk (1 GiB at Lq = Lk = 16384 in float32).

Diagnosis: full score matrix
"""

import math

import torch


def chunked_attention(Q, K, V, causal=False, chunk_size=128):
    """softmax(Q Kᵀ / √d) V in one piece; the arguments are checked like the reference's."""
    if type(chunk_size) is not int or chunk_size < 1:
        raise ValueError(f"chunk_size must be a Python int >= 1, got {chunk_size!r}")
    if Q.shape[-1] != K.shape[-1] or K.shape[-2] != V.shape[-2]:
        raise ValueError("Q, K and V do not fit together")
    Lq, Lk = Q.shape[-2], K.shape[-2]
    if causal and Lq > Lk:
        raise ValueError("causal attention needs Lq <= Lk")
    compute = torch.promote_types(Q.dtype, torch.float32)
    scores = Q.to(compute) @ K.to(compute).transpose(-2, -1) / math.sqrt(Q.shape[-1])  # (..., Lq, Lk)
    if causal:
        allowed = torch.ones(Lq, Lk, dtype=torch.bool, device=Q.device).tril(Lk - Lq)  # (Lq, Lk)
        scores = scores.masked_fill(~allowed, float("-inf"))
    return (torch.softmax(scores, dim=-1) @ V.to(compute)).to(Q.dtype)  # (..., Lq, dv)
