import math

import numpy as np


def entropy(p, base: float = math.e) -> float | np.ndarray:
    """H(p) = -sum_i p_i log p_i, with logarithms to ``base`` (2: bits, e: nats).

    Args:
        p: one distribution [K] or one distribution per row [N, K] (array-like,
            non-negative, each distribution summing to 1 within 1e-6).
        base: the logarithm's base; must be > 0 and != 1.

    Returns:
        A float for a 1-D ``p``; a float64 numpy array [N] for a 2-D ``p``.

    Raises:
        ValueError: invalid ``base``, negative entries, a distribution that does not
            sum to 1, or an input that is not 1-D or 2-D.
    """
    raise NotImplementedError


def cross_entropy(p, q, base: float = math.e) -> float | np.ndarray:
    """H(p, q) = -sum_i p_i log q_i: p is the true distribution, q the model's.

    Args:
        p, q: distributions of the same shape, [K] or [N, K] (one per row).
        base: the logarithm's base; must be > 0 and != 1.

    Returns:
        A float for 1-D inputs; a float64 numpy array [N] for 2-D inputs. inf where
        q_i = 0 for some p_i > 0.

    Raises:
        ValueError: as for ``entropy``, or p and q of different shapes.
    """
    raise NotImplementedError


def kl_divergence(p, q, base: float = math.e) -> float | np.ndarray:
    """KL(p||q) = sum_i p_i log(p_i / q_i) = H(p, q) - H(p).

    Args:
        p, q: distributions of the same shape, [K] or [N, K] (one per row).
        base: the logarithm's base; must be > 0 and != 1.

    Returns:
        A float for 1-D inputs; a float64 numpy array [N] for 2-D inputs. inf where
        q_i = 0 for some p_i > 0.

    Raises:
        ValueError: as for ``entropy``, or p and q of different shapes.
    """
    raise NotImplementedError
