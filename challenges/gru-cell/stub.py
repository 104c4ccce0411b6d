import torch
from torch import nn


class GRUCell(nn.Module):
    """One GRU step with torch.nn.GRUCell's parameters and gate order (r, z, n)."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        """Create the parameters.

        weight_ih [3H, I], weight_hh [3H, H], bias_ih [3H], bias_hh [3H] (H = hidden_size,
        I = input_size), the three gates stacked in the order r, z, n. With bias=False
        there are no bias parameters (register them as None). Every parameter starts
        ~ U(-1/√H, 1/√H).
        """
        super().__init__()
        raise NotImplementedError

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        """One step: h' = (1 − z) ⊙ n + z ⊙ h, n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)).

        Args:
            x: input [B, I].
            h: hidden state [B, H], or None for zeros (in x's dtype, on x's device).

        Returns:
            h' [B, H], in x's dtype, on x's device.

        Raises:
            ValueError: if x is not [B, input_size].
        """
        raise NotImplementedError


def gru(x: torch.Tensor, cell: GRUCell, h: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``cell`` over a sequence.

    Args:
        x: inputs [T, B, I], time first.
        cell: the GRUCell to apply at every step.
        h: the initial hidden state [B, H], or None for zeros.

    Returns:
        (outputs [T, B, H], h_last [B, H]): outputs[t] is the hidden state after step t;
        h_last is the state after the last step.

    Raises:
        ValueError: if x is not 3-D.
    """
    raise NotImplementedError
