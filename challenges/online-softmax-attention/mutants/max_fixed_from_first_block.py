"""Takes the maximum from the first block and never updates it: exact while no later score
is much larger, but exp overflows to inf (and the output to nan) once one is.

Diagnosis: a maximum fixed from the first block
"""

import math

import torch


def _check_arguments(Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor, causal: bool, chunk_size: int) -> None:
    """Raise ValueError unless Q [..., Lq, d], K [..., Lk, d], V [..., Lk, dv] and chunk_size fit."""
    if type(chunk_size) is not int or chunk_size < 1:  # bool is an int subclass: refused too
        raise ValueError(f"chunk_size must be a Python int >= 1, got {chunk_size!r}")
    if min(Q.dim(), K.dim(), V.dim()) < 2:
        raise ValueError("Q, K and V need at least two dimensions: [..., L, d]")
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError(f"Q and K must have the same feature size, got {Q.shape[-1]} and {K.shape[-1]}")
    if K.shape[-2] != V.shape[-2]:
        raise ValueError(f"K and V must have the same length, got {K.shape[-2]} and {V.shape[-2]}")
    if causal and Q.shape[-2] > K.shape[-2]:
        raise ValueError(f"causal attention needs Lq <= Lk, got Lq={Q.shape[-2]} and Lk={K.shape[-2]}")


def chunked_attention(
    Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor, causal: bool = False, chunk_size: int = 128
) -> torch.Tensor:
    """softmax(Q Kᵀ / √d) V computed over blocks of ``chunk_size`` keys; returns [..., Lq, dv].

    With ``causal`` the queries are the last Lq of the Lk positions (bottom-right): query i
    sits at position Lk − Lq + i and attends the keys at positions ≤ its own.

    Example: Q = [[1., 0.]], K = [[0., 0.], [2., 0.], [4., 0.]], V = [[1.], [2.], [3.]],
    chunk_size=2 gives scores [0, √2, 2√2] in two blocks and the output [[2.7225]].
    """
    _check_arguments(Q, K, V, causal, chunk_size)
    compute = torch.promote_types(Q.dtype, torch.float32)  # float16/bfloat16 -> float32
    Lq, Lk = Q.shape[-2], K.shape[-2]
    q = Q.to(compute) / math.sqrt(Q.shape[-1])  # (..., Lq, d): the 1/√d folded into the queries
    stats = (*Q.shape[:-1], 1)
    m = torch.full(stats, float("-inf"), dtype=compute, device=Q.device)  # (..., Lq, 1) running max
    denom = torch.zeros(stats, dtype=compute, device=Q.device)  # (..., Lq, 1) running normaliser l
    acc = torch.zeros((*Q.shape[:-1], V.shape[-1]), dtype=compute, device=Q.device)  # (..., Lq, dv)
    query_pos = torch.arange(Lk - Lq, Lk, device=Q.device)[:, None]  # (Lq, 1): bottom-right positions
    for start in range(0, Lk, chunk_size):  # the last block may be shorter than chunk_size
        k = K[..., start : start + chunk_size, :].to(compute)  # (..., C, d)
        v = V[..., start : start + chunk_size, :].to(compute)  # (..., C, dv)
        scores = q @ k.transpose(-2, -1)  # (..., Lq, C)
        if causal:
            key_pos = torch.arange(start, start + k.shape[-2], device=Q.device)[None, :]  # (1, C): global positions
            scores = scores.masked_fill(key_pos > query_pos, float("-inf"))  # (..., Lq, C)
        # every query sees key 0 (bottom-right, Lq <= Lk), so m is finite from the first block on
        m_new = scores.amax(dim=-1, keepdim=True) if start == 0 else m  # BUG: fixed after the first block
        rescale = torch.exp(m - m_new)  # (..., Lq, 1): exp(-inf) = 0 on the first block
        p = torch.exp(scores - m_new)  # (..., Lq, C), each <= 1; masked keys give 0
        denom = denom * rescale + p.sum(dim=-1, keepdim=True)  # (..., Lq, 1)
        acc = acc * rescale + p @ v  # (..., Lq, dv)
        m = m_new
    return (acc / denom).to(Q.dtype)  # (..., Lq, dv)
