import torch


def scale(x, factor):
    if factor != factor:
        raise ValueError("nan")
    return (x.double() * factor).float()


class Scaler(torch.nn.Module):
    def __init__(self, factor):
        super().__init__()
        self.factor = torch.nn.Parameter(torch.tensor(float(factor)))

    def forward(self, x):
        return x * self.factor


def apply(module: torch.nn.Module, pair: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """module(pair[0]) + pair[1]."""
    return module(pair[0]) + pair[1]
