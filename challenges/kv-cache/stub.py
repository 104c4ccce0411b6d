import torch
from torch import nn


class CachedCausalSelfAttention(nn.Module):
    """Causal multi-head self-attention with a key/value cache.

    Attributes:
        qkv: nn.Linear(d_model, 3 * d_model); its output holds q, k and v in that order
            along the last dim.
        proj: nn.Linear(d_model, d_model), applied to the heads' outputs side by side.
    """

    def __init__(self, d_model: int, n_heads: int):
        super().__init__()
        raise NotImplementedError

    def forward(
        self, x: torch.Tensor, cache: dict[str, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Attend from the new tokens x to the cached positions and to themselves, causally.

        Args:
            x: the new tokens [B, T, d_model].
            cache: None (nothing seen yet), or {"k": [B, n_heads, T_past, d_head],
                "v": [B, n_heads, T_past, d_head]} as returned by the previous call.
                It must not be modified.

        Returns:
            (y [B, T, d_model], new_cache) where new_cache = {"k", "v"} of shape
            [B, n_heads, T_past + T, d_head]: the keys and values of every position seen.
        """
        raise NotImplementedError
