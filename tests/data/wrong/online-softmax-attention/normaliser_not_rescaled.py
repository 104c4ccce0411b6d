"""Written from the prompt alone: rescales the accumulator when the maximum grows but
forgets the normaliser, so l mixes sums taken against different maxima.

Diagnosis: normaliser l that is not rescaled
"""

import math

import torch


def chunked_attention(Q, K, V, causal=False, chunk_size=128):
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError("chunk_size must be a positive int")
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError("Q and K feature sizes differ")
    if K.shape[-2] != V.shape[-2]:
        raise ValueError("K and V lengths differ")
    Lq, Lk = Q.shape[-2], K.shape[-2]
    if causal and Lq > Lk:
        raise ValueError("causal needs Lq <= Lk")
    dt = torch.float32 if Q.dtype in (torch.float16, torch.bfloat16) else Q.dtype
    q = Q.to(dt)
    m = torch.full((*Q.shape[:-1], 1), -math.inf, dtype=dt, device=Q.device)
    denom = torch.zeros_like(m)
    acc = torch.zeros(*Q.shape[:-1], V.shape[-1], dtype=dt, device=Q.device)
    qpos = torch.arange(Lq, device=Q.device).unsqueeze(1) + (Lk - Lq)
    for j in range(0, Lk, chunk_size):
        k = K[..., j : j + chunk_size, :].to(dt)
        v = V[..., j : j + chunk_size, :].to(dt)
        s = q @ k.transpose(-1, -2) / math.sqrt(Q.shape[-1])
        if causal:
            kpos = torch.arange(j, j + k.shape[-2], device=Q.device).unsqueeze(0)
            s = s.masked_fill(kpos > qpos, -math.inf)
        new_m = torch.maximum(m, s.max(dim=-1, keepdim=True).values)
        p = torch.exp(s - new_m)
        acc = acc * torch.exp(m - new_m) + p @ v
        denom = denom + p.sum(dim=-1, keepdim=True)  # BUG: l is not rescaled by exp(m - new_m)
        m = new_m
    return (acc / denom).to(Q.dtype)
