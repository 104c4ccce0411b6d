import torch
from torch import nn


class LSTMCell(nn.Module):
    """One LSTM step with torch.nn.LSTMCell's parameters and gate order (i, f, g, o)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        """Create the parameters.

        weight_ih [4H, I], weight_hh [4H, H], bias_ih [4H], bias_hh [4H] (H = hidden_size,
        I = input_size), the four gates stacked in the order i, f, g, o. With bias=False
        the biases are registered as None. Every parameter starts ~ U(-1/√H, 1/√H).
        """
        super().__init__()
        raise NotImplementedError

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One step.

        Args:
            x: input [B, I].
            state: (h, c), each [B, H], or None for zeros.

        Returns:
            (h', c'), each [B, H], in x's dtype, on x's device.

        Raises:
            ValueError: if x is not [B, input_size].
        """
        raise NotImplementedError


def lstm(
    x: torch.Tensor, cell: LSTMCell, state: tuple[torch.Tensor, torch.Tensor] | None = None
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """Run ``cell`` over a sequence.

    Args:
        x: inputs [T, B, I], time first.
        cell: the LSTMCell to apply at every step.
        state: the initial (h, c), each [B, H], or None for zeros.

    Returns:
        (outputs [T, B, H], (h, c)): outputs[t] is the hidden state after step t;
        (h, c) is the final state, each [B, H].

    Raises:
        ValueError: if x is not 3-D.
    """
    raise NotImplementedError
