import torch


def sinusoidal_positional_encoding(max_len: int, d_model: int, base: float = 10000.0) -> torch.Tensor:
    """The table of sinusoidal positional encodings of "Attention Is All You Need".

    PE[pos, 2i] = sin(pos / base^(2i/d_model)) and PE[pos, 2i+1] = cos(pos / base^(2i/d_model)),
    interleaved column by column; an odd d_model ends with a sine column.

    Args:
        max_len: the number of positions (rows), pos = 0, ..., max_len - 1.
        d_model: the width of the encoding (columns), even or odd.
        base: the base of the wavelengths (default 10000).

    Returns:
        A float32 tensor [max_len, d_model] on the CPU.

    Raises:
        ValueError: if max_len <= 0, d_model <= 0 or base <= 0.
    """
    raise NotImplementedError
