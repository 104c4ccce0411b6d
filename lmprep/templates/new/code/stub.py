# REPLACE: this file with your challenge's stub: the real signatures and docstrings (with
# shapes) of every name in challenge.toml's entry_points, each body `raise NotImplementedError`.
import torch


def perplexity(log_probs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The perplexity of each sequence: exp of the mean negative log-likelihood of its real tokens.

    Args:
        log_probs: [B, T] the log-probability (natural log) the model gave each token.
        mask: [B, T] bool, True for a real token, False for padding (whose log_probs entry
            may hold any value, even -inf or nan).

    Returns:
        [B], in log_probs' dtype: one perplexity per sequence; 1 for a sequence with no
        real token.

    Raises:
        ValueError: if mask's shape is not log_probs'.
    """
    raise NotImplementedError
