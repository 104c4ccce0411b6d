import torch


def hidden_grad_norms(
    x: torch.Tensor, h0: torch.Tensor, W_xh: torch.Tensor, W_hh: torch.Tensor, b_h: torch.Tensor
) -> torch.Tensor:
    """How the gradient of the last state's sum reaches every earlier state of an Elman RNN.

    The recurrence is h_t = tanh(x_t W_xhᵀ + h_{t−1} W_hhᵀ + b_h) from h0; outputs[t] is the
    state after reading x[t] (t = 0..T−1) and L = outputs[T−1].sum().

    Args:
        x: inputs [T, B, I], time first.
        h0: the initial state [B, H].
        W_xh: [H, I]; W_hh: [H, H]; b_h: [H].

    Returns:
        A detached tensor [T] in x's dtype and on x's device: entry t is the 2-norm, over all
        B·H entries, of ∂L/∂outputs[t] through every path (so the last entry is √(B·H)).
        T = 0 gives an empty tensor. The inputs, and their .grad, are left as they were.
    """
    raise NotImplementedError


def clip_grad_norm(grads: list[torch.Tensor], max_norm: float) -> tuple[list[torch.Tensor], float]:
    """Clip a list of gradients by their global 2-norm.

    Args:
        grads: tensors of any shapes, dtypes and devices.
        max_norm: the largest global norm allowed (≥ 0).

    Returns:
        (clipped, total_norm): new tensors (the inputs are not modified), each in its input's
        dtype and on its device, all scaled by max_norm / (total_norm + 1e-6) when total_norm is
        strictly greater than max_norm, else copies of the inputs; total_norm is the global
        2-norm before clipping, as a Python float. [] gives ([], 0.0).

    Raises:
        ValueError: if max_norm is negative or nan.
    """
    raise NotImplementedError
