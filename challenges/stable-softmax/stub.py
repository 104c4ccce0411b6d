import torch


def softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """exp(x) / sum(exp(x)) along ``dim``.

    Args:
        x: any shape, e.g. [..., V] with ``dim=-1``.
        dim: the dimension to normalise over; negative values count from the end.

    Returns:
        A tensor of x's shape, dtype and device whose slices along ``dim`` sum to 1. An
        entry of -inf gets probability 0; a slice that is all -inf gives all zeros.

    Raises:
        ValueError: if ``dim`` is not a dimension of x.
    """
    raise NotImplementedError


def log_softmax(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """log(softmax(x, dim)), computed stably (x - logsumexp(x)).

    Args:
        x: any shape.
        dim: the dimension to normalise over; negative values count from the end.

    Returns:
        A tensor of x's shape, dtype and device. An entry of -inf gives -inf.

    Raises:
        ValueError: if ``dim`` is not a dimension of x.
    """
    raise NotImplementedError


def logsumexp(x: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """log(sum(exp(x))) along ``dim``, computed stably.

    Args:
        x: any shape, e.g. [B, T, V] with ``dim=-1``.
        dim: the dimension to reduce; negative values count from the end.

    Returns:
        x's shape without ``dim`` (e.g. [B, T]), in x's dtype, on x's device. A slice
        that is all -inf gives -inf.

    Raises:
        ValueError: if ``dim`` is not a dimension of x.
    """
    raise NotImplementedError
