"""A second correct solution, written differently from the reference: instead of a running
maximum, a normaliser and an unnormalised accumulator divided at the end, it keeps the
output normalised at every step together with the running log-sum-exp of the scores,
merging each block with torch.logaddexp (the form FlashAttention-2 stores for its backward
pass). Causal masks come from torch.where on position grids; products are einsums; the
arguments are checked with isinstance (bool refused first).
"""

import math

import torch


def chunked_attention(Q, K, V, causal=False, chunk_size=128):
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError(f"chunk_size must be an int >= 1 (not a bool), got {chunk_size!r}")
    (Lq, d), (Lk, dk), Lv = Q.shape[-2:], K.shape[-2:], V.shape[-2]
    if d != dk:
        raise ValueError(f"Q has feature size {d} but K has {dk}")
    if Lk != Lv:
        raise ValueError(f"K has {Lk} keys but V has {Lv} values")
    if causal and Lq > Lk:
        raise ValueError(f"causal needs Lq <= Lk, got {Lq} > {Lk}")
    work = torch.float64 if Q.dtype == torch.float64 else torch.float32
    q, k, v = Q.to(work), K.to(work), V.to(work)
    lse = torch.full((*q.shape[:-1], 1), -math.inf, dtype=work, device=Q.device)  # log Σ exp(score) so far
    out = torch.zeros((*q.shape[:-1], v.shape[-1]), dtype=work, device=Q.device)  # normalised so far
    rows = torch.arange(Lq, device=Q.device).view(Lq, 1) + (Lk - Lq)
    neg_inf = torch.tensor(-math.inf, dtype=work, device=Q.device)
    start = 0
    while start < Lk:
        stop = min(start + chunk_size, Lk)
        s = torch.einsum("...qd,...kd->...qk", q, k[..., start:stop, :]) / math.sqrt(d)
        if causal:
            cols = torch.arange(start, stop, device=Q.device).view(1, stop - start)
            s = torch.where(cols <= rows, s, neg_inf)
        new_lse = torch.logaddexp(lse, torch.logsumexp(s, dim=-1, keepdim=True))  # finite: key 0 is always seen
        out = out * torch.exp(lse - new_lse) + torch.einsum(
            "...qk,...kv->...qv", torch.exp(s - new_lse), v[..., start:stop, :]
        )
        lse = new_lse
        start = stop
    return out.to(Q.dtype)
