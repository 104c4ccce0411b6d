"""Allocates the [Lq, Lk] score matrix once and does everything in place in it (matmul with
out=, an in-place softmax): no temporaries, but the one buffer is still 1 GiB at
Lq = Lk = 16384.

Diagnosis: even if allocated once and filled in place
"""

import math

import torch


def chunked_attention(Q, K, V, causal=False, chunk_size=128):
    """softmax(Q Kᵀ / √d) V in one preallocated buffer; the arguments are checked like the reference's."""
    if type(chunk_size) is not int or chunk_size < 1:
        raise ValueError(f"chunk_size must be a Python int >= 1, got {chunk_size!r}")
    if Q.shape[-1] != K.shape[-1] or K.shape[-2] != V.shape[-2]:
        raise ValueError("Q, K and V do not fit together")
    Lq, Lk = Q.shape[-2], K.shape[-2]
    if causal and Lq > Lk:
        raise ValueError("causal attention needs Lq <= Lk")
    compute = torch.promote_types(Q.dtype, torch.float32)
    q = Q.to(compute) / math.sqrt(Q.shape[-1])  # (..., Lq, d)
    k, v = K.to(compute), V.to(compute)
    scores = torch.empty((*q.shape[:-1], Lk), dtype=compute, device=Q.device)  # (..., Lq, Lk), the one buffer
    torch.matmul(q, k.transpose(-2, -1), out=scores)
    if causal:
        for i in range(Lq):  # row by row, so that no [Lq, Lk] mask is made
            scores[..., i, Lk - Lq + i + 1 :] = float("-inf")
    scores.sub_(scores.amax(dim=-1, keepdim=True)).exp_()
    scores.div_(scores.sum(dim=-1, keepdim=True))
    return (scores @ v).to(Q.dtype)  # (..., Lq, dv)
