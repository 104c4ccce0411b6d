import torch


def scaled_dot_product_attention(
    Q: torch.Tensor, K: torch.Tensor, V: torch.Tensor, mask: torch.Tensor | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Attention weights softmax(Q Kᵀ / √d) over the keys, and the weighted sum of V.

    Args:
        Q: queries [..., Lq, d].
        K: keys [..., Lk, d].
        V: values [..., Lk, dv].
        mask: None, or a bool / 0-1 integer tensor broadcastable to [..., Lq, Lk];
            True (1) = the query may attend that key.

    Returns:
        (output [..., Lq, dv], weights [..., Lq, Lk]), in the input dtype, on the input
        device. A query whose keys are all masked gets all-zero weights and a zero output.

    Raises:
        ValueError: if Q and K differ in d, K and V differ in length, or the mask does
            not broadcast to [..., Lq, Lk].
    """
    raise NotImplementedError


def causal_mask(q_len: int, k_len: int | None = None, device: torch.device | str | None = None) -> torch.Tensor:
    """BoolTensor [q_len, k_len]: True where query i may attend key j.

    Query i sits at position k_len - q_len + i and may attend keys at positions <= its
    own. k_len defaults to q_len. q_len > k_len (or a negative length) -> ValueError.
    """
    raise NotImplementedError
