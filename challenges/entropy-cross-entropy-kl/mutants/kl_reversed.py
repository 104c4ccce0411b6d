"""`kl_divergence` computes KL(q||p) instead of KL(p||q).

Diagnosis: p and q are swapped
"""

import math

import numpy as np

SUM_TOLERANCE = 1e-6  # how far a distribution's sum may be from 1


def _log_base(base: float) -> float:
    """The natural log of ``base``: dividing a natural log by it changes the base."""
    if not base > 0 or base == 1:  # `not >` also rejects nan
        raise ValueError(f"base must be positive and different from 1, got {base}")
    return math.log(base)


def _distribution(x, name: str) -> np.ndarray:
    """``x`` as a float64 array of one (1-D) or several (2-D, by row) distributions."""
    x = np.asarray(x, dtype=np.float64)  # (K,) or (N, K)
    if x.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D or 2-D, got {x.ndim} dimensions")
    if (x < 0).any():
        raise ValueError(f"{name} has negative entries")
    sums = x.sum(axis=-1)  # () or (N,)
    if not np.all(np.abs(sums - 1.0) <= SUM_TOLERANCE):  # also false for nan
        raise ValueError(f"{name} must sum to 1 (within {SUM_TOLERANCE:g}) along its last axis")
    return x


def _pair(p, q) -> tuple[np.ndarray, np.ndarray]:
    p, q = _distribution(p, "p"), _distribution(q, "q")
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    return p, q


def _neg_p_log(p: np.ndarray, x: np.ndarray) -> np.ndarray:
    """-p * log(x) elementwise, with 0 where p == 0 (0 log anything = 0) and inf where p > 0 = x."""
    used = p > 0  # (..., K): only these terms count
    with np.errstate(divide="ignore"):  # log(0) = -inf is what we want where p > 0 = x
        log_x = np.log(np.where(used, x, 1.0))  # (..., K)
    return np.where(used, -p * log_x, 0.0)  # (..., K)


def _result(values: np.ndarray) -> float | np.ndarray:
    """A Python float for one distribution, the (N,) array for a batch of rows."""
    return float(values) if values.ndim == 0 else values


def entropy(p, base: float = math.e) -> float | np.ndarray:
    """H(p) = -sum p log p, in units of log ``base`` (2: bits, e: nats)."""
    log_base = _log_base(base)
    p = _distribution(p, "p")  # (..., K)
    return _result(_neg_p_log(p, p).sum(axis=-1) / log_base)  # () or (N,)


def cross_entropy(p, q, base: float = math.e) -> float | np.ndarray:
    """H(p, q) = -sum p log q: the expected code length under q of data drawn from p."""
    log_base = _log_base(base)
    p, q = _pair(p, q)  # (..., K)
    return _result(_neg_p_log(p, q).sum(axis=-1) / log_base)  # () or (N,)


def kl_divergence(p, q, base: float = math.e) -> float | np.ndarray:
    """KL(p||q) = sum p log(p / q) = H(p, q) - H(p): the extra cost of coding p with q."""
    log_base = _log_base(base)
    p, q = _pair(p, q)  # (..., K)
    terms = _neg_p_log(q, p) - _neg_p_log(q, q)  # (..., K): p log p - p log q, inf where p > 0 = q
    return _result(terms.sum(axis=-1) / log_base)  # () or (N,)
