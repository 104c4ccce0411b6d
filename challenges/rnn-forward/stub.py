import torch


def rnn_forward(
    x: torch.Tensor, h0: torch.Tensor, W_xh: torch.Tensor, W_hh: torch.Tensor, b_h: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run the Elman recurrence h_t = tanh(x_t W_xhᵀ + h_{t−1} W_hhᵀ + b_h) over a sequence.

    Args:
        x: inputs [T, B, I], time first (T may be 0).
        h0: the initial state [B, H] (required).
        W_xh: input weights [H, I].
        W_hh: recurrent weights [H, H].
        b_h: bias [H].

    Returns:
        (outputs [T, B, H], h_last [B, H]): outputs[t] is the state after reading x[t];
        h_last = outputs[T − 1], or a copy of h0 when T = 0. In x's dtype, on x's device.

    Raises:
        ValueError: if h0 is None or the shapes are inconsistent.
    """
    raise NotImplementedError
