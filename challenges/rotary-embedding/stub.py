"""Rotary position embedding (RoPE) with interleaved pairs."""

import torch


def apply_rotary(x: torch.Tensor, positions: torch.Tensor, base: float = 10000.0) -> torch.Tensor:
    """Rotate each interleaved pair (x[..., 2i], x[..., 2i+1]) of x [..., L, d] by the angle
    θ = positions[t] · base^(−2i/d):

        (x₂ᵢ cos θ − x₂ᵢ₊₁ sin θ,  x₂ᵢ sin θ + x₂ᵢ₊₁ cos θ)

    positions: [L], integer or floating (fractional positions allowed).
    Returns a new tensor of x's shape, dtype and device; x is left unchanged.
    Raises ValueError for an odd d, x with fewer than 2 dims, positions not [L], or base <= 0.
    """
    raise NotImplementedError
