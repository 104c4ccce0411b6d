"""Written from the prompt alone: computes the scores block by block, but keeps every
block and concatenates them for one ordinary softmax at the end, so the whole [Lq, Lk]
matrix exists after all (1 GiB at Lq = Lk = 16384).

Diagnosis: score matrix
"""

import math

import torch


def chunked_attention(Q, K, V, causal=False, chunk_size=128):
    if type(chunk_size) is not int or chunk_size <= 0:
        raise ValueError(f"bad chunk_size {chunk_size!r}")
    if Q.shape[-1] != K.shape[-1] or K.shape[-2] != V.shape[-2]:
        raise ValueError("shape mismatch")
    Lq, Lk = Q.shape[-2], K.shape[-2]
    if causal and Lq > Lk:
        raise ValueError("causal with more queries than keys")
    work = torch.float64 if Q.dtype == torch.float64 else torch.float32
    q = Q.to(work) / math.sqrt(Q.shape[-1])
    blocks = []
    for start in range(0, Lk, chunk_size):
        s = q @ K[..., start : start + chunk_size, :].to(work).transpose(-2, -1)
        if causal:
            i = torch.arange(Lq, device=Q.device)[:, None] + Lk - Lq
            j = torch.arange(start, start + s.shape[-1], device=Q.device)[None, :]
            s = s.masked_fill(j > i, float("-inf"))
        blocks.append(s)
    weights = torch.softmax(torch.cat(blocks, dim=-1), dim=-1)  # BUG: the full [Lq, Lk] matrix again
    return (weights @ V.to(work)).to(Q.dtype)
