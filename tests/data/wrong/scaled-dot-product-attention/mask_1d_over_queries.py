"""Wrong: reads a 1-D mask [L] as one entry per query (unsqueeze(-1)) instead of one per key.

Diagnosis: one entry per key
"""

import math

import torch


def _check_shapes(Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor, mask: torch.Tensor | None) -> None:
    """Raise ValueError unless Q [..., Lq, d], K [..., Lk, d], V [..., Lk, dv] and mask fit."""
    if min(Q.dim(), K.dim(), V.dim()) < 2:
        raise ValueError("Q, K and V need at least two dimensions: [..., L, d]")
    if Q.shape[-1] != K.shape[-1]:
        raise ValueError(f"Q and K must have the same feature size, got {Q.shape[-1]} and {K.shape[-1]}")
    if K.shape[-2] != V.shape[-2]:
        raise ValueError(f"K and V must have the same length, got {K.shape[-2]} and {V.shape[-2]}")
    if mask is not None:
        scores_shape = (*Q.shape[:-1], K.shape[-2])  # (..., Lq, Lk)
        try:
            shape = torch.broadcast_shapes(mask.shape, scores_shape)
        except RuntimeError:
            shape = None
        if shape != scores_shape:
            raise ValueError(f"mask of shape {list(mask.shape)} does not broadcast to {list(scores_shape)}")


def scaled_dot_product_attention(
    Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """softmax(Q Kᵀ / √d) V over the keys; returns (output [..., Lq, dv], weights [..., Lq, Lk]).

    Example: one query that matches the second of two keys best,
    Q = [[0, 2]], K = [[1, 0], [0, 1]], V = [[10.], [20.]] gives scores [0, √2] and
    weights [0.1956, 0.8044], output [[18.04]].
    """
    _check_shapes(Q, K, V, mask)
    compute = torch.promote_types(Q.dtype, torch.float32)  # float16/bfloat16 -> float32
    q, k, v = Q.to(compute), K.to(compute), V.to(compute)
    scores = q @ k.transpose(-2, -1) / math.sqrt(Q.shape[-1])  # (..., Lq, Lk)
    if mask is None:
        weights = torch.softmax(scores, dim=-1)  # (..., Lq, Lk); softmax subtracts the row max
    else:
        allowed = (mask != 0).unsqueeze(-1) if mask.dim() == 1 else mask != 0  # (..., Lq, Lk)
        has_key = allowed.any(dim=-1, keepdim=True)  # (..., Lq, 1): False for a fully masked query
        scores = scores.masked_fill(~allowed, float("-inf"))  # (..., Lq, Lk)
        scores = scores.masked_fill(~has_key, 0.0)  # fully masked rows: finite, so no nan
        weights = torch.softmax(scores, dim=-1).masked_fill(~has_key, 0.0)  # (..., Lq, Lk)
    output = weights @ v  # (..., Lq, dv)
    return output.to(V.dtype), weights.to(Q.dtype)


def causal_mask(q_len: int, k_len: int | None = None, device: torch.device | str | None = None) -> torch.Tensor:
    """BoolTensor [q_len, k_len], True where query i may attend key j.

    Query i sits at position k_len - q_len + i (the queries are the last q_len positions),
    so it sees keys j <= k_len - q_len + i. Example: causal_mask(2, 3) is
    [[True, True, False], [True, True, True]].
    """
    k_len = q_len if k_len is None else k_len
    if q_len < 0 or k_len < 0:
        raise ValueError(f"lengths must be non-negative, got q_len={q_len}, k_len={k_len}")
    if q_len > k_len:
        raise ValueError(f"q_len ({q_len}) must not exceed k_len ({k_len})")
    query_pos = torch.arange(k_len - q_len, k_len, device=device)[:, None]  # (q_len, 1)
    key_pos = torch.arange(k_len, device=device)[None, :]  # (1, k_len)
    return key_pos <= query_pos  # (q_len, k_len)
