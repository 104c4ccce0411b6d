"""Written from the prompt alone: casts everything to float32 (.float()) whatever the input
dtype, so float64 inputs lose precision (errors ~1e-6, over the 1e-7 tolerance), though the
result is cast back to Q's dtype.

Diagnosis: float64 input is computed in float32
"""

import math

import torch


def chunked_attention(Q, K, V, causal=False, chunk_size=128):
    if type(chunk_size) is not int or chunk_size < 1:
        raise ValueError("chunk_size must be an int >= 1")
    if Q.shape[-1] != K.shape[-1] or K.shape[-2] != V.shape[-2]:
        raise ValueError("Q/K/V shapes do not match")
    Lq, Lk = Q.shape[-2], K.shape[-2]
    if causal and Lq > Lk:
        raise ValueError("causal requires Lq <= Lk")
    q, k_all, v_all = Q.float(), K.float(), V.float()  # BUG for float64 inputs
    scale = 1.0 / math.sqrt(Q.shape[-1])
    m = torch.full(q.shape[:-1], float("-inf"), device=Q.device)  # [..., Lq]
    denom = torch.zeros(q.shape[:-1], device=Q.device)
    acc = torch.zeros(*q.shape[:-1], V.shape[-1], device=Q.device)
    for start in range(0, Lk, chunk_size):
        k, v = k_all[..., start : start + chunk_size, :], v_all[..., start : start + chunk_size, :]
        s = torch.einsum("...id,...jd->...ij", q, k) * scale
        if causal:
            keep = torch.arange(start, start + k.shape[-2], device=Q.device)[None, :] <= (
                torch.arange(Lq, device=Q.device)[:, None] + Lk - Lq
            )
            s = torch.where(keep, s, torch.tensor(float("-inf"), device=Q.device))
        m_new = torch.maximum(m, s.amax(dim=-1))
        corr = torch.exp(m - m_new)
        p = torch.exp(s - m_new[..., None])
        denom = denom * corr + p.sum(dim=-1)
        acc = acc * corr[..., None] + torch.einsum("...ij,...jd->...id", p, v)
        m = m_new
    return (acc / denom[..., None]).to(Q.dtype)
