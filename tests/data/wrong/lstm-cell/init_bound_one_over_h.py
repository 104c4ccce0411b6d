"""Wrong: initialises the parameters from U(-1/H, 1/H) instead of U(-1/sqrt(H), 1/sqrt(H)).

Diagnosis: U(-1/H, 1/H)
"""

import torch
from torch import nn


class LSTMCell(nn.Module):
    """One LSTM step: (x [B, I], (h, c) [B, H]) -> (h', c') [B, H].

    Example: with input_size=2, hidden_size=1, all biases 0, weight_hh 0 and weight_ih rows
    i=[1, 0], f=[0, 1], g=[1, 1], o=[1, -1], the input x=[[1, -1]] from a zero state gives
    i=σ(1), f=σ(-1), g=tanh(0)=0, o=σ(2), so c'=0 and h'=0.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))  # (4H, I)
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))  # (4H, H)
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(4 * hidden_size))  # (4H,)
            self.bias_hh = nn.Parameter(torch.empty(4 * hidden_size))  # (4H,)
        else:  # registered as None, as torch does, so the names exist but hold nothing
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every parameter ~ U(-1/√H, 1/√H), torch's initialisation for recurrent layers."""
        bound = 1.0 / self.hidden_size
        for param in self.parameters():
            nn.init.uniform_(param, -bound, bound)

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if x.dim() != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"x must have shape [B, {self.input_size}], got {list(x.shape)}")
        if state is None:
            h = c = x.new_zeros(x.shape[0], self.hidden_size)  # (B, H): x's dtype and device
        else:
            h, c = state  # (B, H), (B, H)
        gates = x @ self.weight_ih.T + h @ self.weight_hh.T  # (B, 4H)
        if self.bias_ih is not None:
            gates = gates + self.bias_ih + self.bias_hh  # (B, 4H)
        i, f, g, o = gates.chunk(4, dim=1)  # each (B, H), in torch's order i, f, g, o
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c_next = f * c + i * g  # (B, H): forget part of the old memory, write the candidate
        h_next = o * torch.tanh(c_next)  # (B, H): expose a squashed view of the memory
        return h_next, c_next


def lstm(
    x: torch.Tensor, cell: LSTMCell, state: tuple[torch.Tensor, torch.Tensor] | None = None
) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """Run ``cell`` over x [T, B, I]; returns (outputs [T, B, H], (h_T, c_T)).

    outputs[t] is the hidden state after step t, so outputs[-1] equals h_T. The state
    (h, c) is carried from each step to the next; ``state`` None starts from zeros.
    """
    if x.dim() != 3:
        raise ValueError(f"x must have shape [T, B, I], got {list(x.shape)}")
    outputs = []
    for x_t in x:  # x_t: (B, I)
        state = cell(x_t, state)  # (h, c), each (B, H)
        outputs.append(state[0])
    return torch.stack(outputs), state  # (T, B, H), ((B, H), (B, H))
