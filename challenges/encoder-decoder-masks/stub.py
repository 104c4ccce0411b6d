import torch


def make_masks(src_pad: torch.Tensor, tgt_pad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Build the encoder self-attention, decoder self-attention and cross-attention masks.

    Args:
        src_pad: [B, S] bool or 0/1 integer tensor, True/1 where the source token is padding.
        tgt_pad: [B, T] bool or 0/1 integer tensor, True/1 where the target token is padding.

    Returns:
        (enc_self [B, 1, S, S], dec_self [B, 1, T, T], cross [B, 1, T, S]): torch.bool masks on
        the inputs' device, True = the query (row) may attend the key (column).
        enc_self[b, 0, i, j] = not src_pad[b, j]
        dec_self[b, 0, i, j] = j <= i and not tgt_pad[b, j]
        cross[b, 0, i, j]    = not src_pad[b, j]           (never causal)

    Raises:
        ValueError: if an input is not 2-D or the batch sizes differ.
    """
    raise NotImplementedError
