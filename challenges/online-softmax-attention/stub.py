import torch


def chunked_attention(
    Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor, causal: bool = False, chunk_size: int = 128
) -> torch.Tensor:
    """softmax(Q Kᵀ / √d) V, computed over blocks of ``chunk_size`` keys with a running
    maximum and normaliser, so that memory grows with Lq·chunk_size, never Lq·Lk.

    Args:
        Q: queries [..., Lq, d].
        K: keys [..., Lk, d] (the same leading dims as Q).
        V: values [..., Lk, dv].
        causal: bottom-right causal: query i sits at position Lk − Lq + i and attends the
            keys at positions ≤ its own.
        chunk_size: how many keys each block holds (a Python int ≥ 1, not a bool); the
            last block may be shorter.

    Returns:
        The output [..., Lq, dv] in Q's dtype, on Q's device (float16/bfloat16 computed in
        float32, float64 in float64).

    Raises:
        ValueError: if chunk_size is not a Python int ≥ 1, Q and K have different
            feature sizes, K and V have different lengths, or causal with Lq > Lk.
    """
    raise NotImplementedError
