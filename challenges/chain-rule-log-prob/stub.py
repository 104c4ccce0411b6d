import torch


def sequence_log_prob(logits: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """The log-probability of each sequence: the sum over positions of log p(token_i | prefix).

    Args:
        logits: [..., L, V] model scores; position i scores tokens[..., i] (already aligned).
        tokens: [..., L] LongTensor of token ids.
        mask: None (count every position) or a bool / 0-1 integer tensor that broadcasts to
            tokens' shape; positions where it is False/0 are left out, and their ids (any
            integer, e.g. -100) are never looked up.

    Returns:
        [...]: one log-probability per sequence, in logits' dtype, on logits' device; 0 for a
        sequence with no counted position.

    Raises:
        ValueError: if tokens' shape is not logits.shape[:-1], or mask does not broadcast to it.
    """
    raise NotImplementedError


def perplexity(logits: torch.Tensor, tokens: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """exp of the mean negative log-likelihood per counted position.

    Args and Raises: as for ``sequence_log_prob``.

    Returns:
        [...]: one perplexity per sequence, in logits' dtype, on logits' device; 1 for a
        sequence with no counted position.
    """
    raise NotImplementedError
