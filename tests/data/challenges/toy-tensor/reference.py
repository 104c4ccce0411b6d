"""Scaling, the reference way."""

import torch


def scale(x: torch.Tensor, factor: float) -> torch.Tensor:
    if factor != factor:
        raise ValueError("factor is nan")
    return x * factor


class Scaler(torch.nn.Module):
    def __init__(self, factor: float):
        super().__init__()
        self.factor = torch.nn.Parameter(torch.tensor(float(factor)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


def apply(module: torch.nn.Module, pair: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """module(pair[0]) + pair[1]."""
    return module(pair[0]) + pair[1]
