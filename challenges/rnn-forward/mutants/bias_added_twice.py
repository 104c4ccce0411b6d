"""Adds b_h twice, once with each term (as if it were torch's bias_ih and bias_hh).

Diagnosis: bias added twice
"""

import torch

LOW_PRECISION = (torch.float16, torch.bfloat16)


def check_shapes(x, h0, W_xh, W_hh, b_h) -> None:
    """Raise ValueError unless x [T, B, I], h0 [B, H], W_xh [H, I], W_hh [H, H], b_h [H]."""
    if h0 is None:
        raise ValueError("h0 is required (pass zeros for an empty initial state)")
    if x.dim() != 3:
        raise ValueError(f"x must have shape [T, B, I], got {list(x.shape)}")
    _, B, n_in = x.shape  # T, B, I
    H = W_hh.shape[0] if W_hh.dim() >= 1 else -1
    expected = {"h0": (h0, (B, H)), "W_xh": (W_xh, (H, n_in)), "W_hh": (W_hh, (H, H)), "b_h": (b_h, (H,))}
    for name, (value, shape) in expected.items():
        if tuple(value.shape) != shape:
            raise ValueError(
                f"{name} must have shape {list(shape)} for x of shape {list(x.shape)} and H = {H}, "
                f"got {list(value.shape)}"
            )


def rnn_forward(
    x: torch.Tensor, h0: torch.Tensor, W_xh: torch.Tensor, W_hh: torch.Tensor, b_h: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run h_t = tanh(x_t W_xhᵀ + h_{t−1} W_hhᵀ + b_h) over x [T, B, I] from h0 [B, H].

    Returns (outputs [T, B, H], h_last [B, H]): outputs[t] is the state after reading x[t]
    and h_last = outputs[T − 1] (a copy of h0 when T = 0). float16/bfloat16 are computed
    in float32 and returned in the input dtype.

    Example: I = H = 1, W_xh = 1, W_hh = 0.5, b_h = 0, h0 = 0 and x = 1, 0, −1 give the
    outputs tanh(1) = 0.7616, tanh(0.3808) = 0.3634, tanh(−0.8183) = −0.6741.
    """
    check_shapes(x, h0, W_xh, W_hh, b_h)
    dtype = x.dtype
    compute = torch.float32 if dtype in LOW_PRECISION else dtype  # half types accumulate in float32
    x, h, W_xh, W_hh, b_h = (t.to(compute) for t in (x, h0, W_xh, W_hh, b_h))
    inputs = x @ W_xh.T + b_h  # (T, B, H): the input term of every step, in one product
    outputs = []
    for x_term in inputs:  # x_term: (B, H)
        h = torch.tanh(x_term + h @ W_hh.T + b_h)  # (B, H): a new tensor each step, h0 is never written
        outputs.append(h)
    if not outputs:  # T = 0: no step, the state is h0 itself
        return inputs.to(dtype), h0.clone()  # (0, B, H), (B, H)
    outputs = torch.stack(outputs)  # (T, B, H), time first
    return outputs.to(dtype), outputs[-1].to(dtype)  # (T, B, H), (B, H)
