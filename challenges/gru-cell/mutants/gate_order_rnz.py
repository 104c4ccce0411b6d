"""Takes the 3H blocks in the order r, n, z (candidate second) instead of torch's r, z, n.

Diagnosis: order r, n, z
"""

import math

import torch
from torch import nn


class GRUCell(nn.Module):
    """One GRU step: (x [B, I], h [B, H]) -> h' [B, H].

    Example: with input_size=1, hidden_size=1, every weight 1, bias_ih 0 and
    bias_hh = [0, 0, 1], the input x=[[1]] and h=[[0.5]] give r = z = σ(1.5) = 0.8176,
    n = tanh(1 + 0.8176·(0.5 + 1)) = 0.9770 and h' = 0.1824·0.9770 + 0.8176·0.5 = 0.5870.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.empty(3 * hidden_size, input_size))  # (3H, I)
        self.weight_hh = nn.Parameter(torch.empty(3 * hidden_size, hidden_size))  # (3H, H)
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(3 * hidden_size))  # (3H,)
            self.bias_hh = nn.Parameter(torch.empty(3 * hidden_size))  # (3H,)
        else:  # registered as None, as torch does: the names exist but hold no parameter
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter ~ U(-1/√H, 1/√H), torch's initialisation for recurrent layers."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for param in self.parameters():
            nn.init.uniform_(param, -bound, bound)

    def forward(self, x: torch.Tensor, h: torch.Tensor | None = None) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"x must have shape [B, {self.input_size}], got {list(x.shape)}")
        if h is None:
            h = x.new_zeros(x.shape[0], self.hidden_size)  # (B, H): x's dtype and device
        gi = x @ self.weight_ih.T  # (B, 3H): the input's share of r, z, n
        gh = h @ self.weight_hh.T  # (B, 3H): the state's share, one product for all three
        if self.bias_ih is not None:
            gi = gi + self.bias_ih  # (B, 3H)
            gh = gh + self.bias_hh  # (B, 3H): b_hn stays with W_hn h, inside the reset product
        i_r, i_n, i_z = gi.chunk(3, dim=1)  # each (B, H), in torch's order r, z, n
        h_r, h_n, h_z = gh.chunk(3, dim=1)  # each (B, H)
        r = torch.sigmoid(i_r + h_r)  # (B, H) reset gate
        z = torch.sigmoid(i_z + h_z)  # (B, H) update gate: 1 keeps the old state
        n = torch.tanh(i_n + r * h_n)  # (B, H) candidate: r scales (W_hn h + b_hn)
        return (1 - z) * n + z * h  # (B, H)


def gru(x: torch.Tensor, cell: GRUCell, h: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``cell`` over x [T, B, I]; returns (outputs [T, B, H], h_T).

    outputs[t] is the hidden state after step t, so outputs[-1] equals h_T. The state is
    carried from each step to the next; ``h`` None starts from zeros.
    """
    if x.dim() != 3:
        raise ValueError(f"x must have shape [T, B, I], got {list(x.shape)}")
    outputs = []
    for x_t in x:  # x_t: (B, I)
        h = cell(x_t, h)  # (B, H)
        outputs.append(h)
    return torch.stack(outputs), h  # (T, B, H), (B, H)
