"""Specs for perplexity: the worked example, a uniform model, random batches against the
reference, an empty sequence and the error for mismatched shapes.

Hidden from the learner, except the tests marked `public` (run by `lmprep test`). Each
test checks one behaviour and is named for it; a docstring of up to 48 characters is
the name the learner sees.
Fixtures: `sub` is the submission (running in an isolated worker: call its functions as
`sub.perplexity(...)`), `ref` the reference module (here, in the trusted judge).

# REPLACE: these tests with your challenge's. Keep the oracle, a `diagnose` that names
# each mutant's mistake, and one `expect_raises` per error the statement promises.
"""

import math

import pytest
import torch

from grader.spec import check_close, describe, expect_raises, lazy, public, randn

# ---------------------------------------------------------------- oracle and diagnosis


def oracle(ref, log_probs, mask):
    """The expected perplexities: the reference computed in float64, cast to the input's dtype."""
    return ref.perplexity(log_probs.double(), mask).to(log_probs.dtype)


def diagnose(got, log_probs, mask):
    """The typical mistake `got` matches, in the learner's words, or ''.

    Each mistake is computed here and compared with what came back; it is named only where
    it differs from the right answer. A mutant's "Diagnosis:" line must appear in these words
    (`lmprep validate` checks that the failure shown for the mutant names it).
    """
    real = torch.where(mask, log_probs, torch.zeros_like(log_probs)).double()
    right = torch.exp(-real.sum(-1) / mask.sum(-1).clamp(min=1))
    mistakes = {
        "it averages over the padding positions too: divide by the number of real tokens "
        "(mask.sum(-1)), not by the length T": torch.exp(-log_probs.double().mean(-1)),
        "it sums the log-probabilities instead of averaging them: perplexity is exp of the "
        "*mean* negative log-likelihood per token": torch.exp(-real.sum(-1)),
    }
    for words, wrong in mistakes.items():
        differs = not torch.allclose(wrong, right, equal_nan=True)
        if differs and torch.allclose(got.double(), wrong, rtol=1e-4, atol=1e-6, equal_nan=True):
            return words
    return ""


def padded(log_probs, lengths, fill):
    """(log_probs with `fill` after each sequence's length, the matching mask)."""
    mask = torch.arange(log_probs.shape[-1]) < torch.tensor(lengths)[:, None]  # (B, T)
    return log_probs.masked_fill(~mask, fill), mask


def check_perplexity(sub, ref, log_probs, mask, what, seed=None):
    got = sub.perplexity(log_probs, mask)
    check_close(
        got,
        oracle(ref, log_probs, mask),
        what=what,
        kind="reduction",
        inputs=describe(log_probs=log_probs, mask=mask),
        seed=seed,
        diagnosis=lazy(diagnose, got, log_probs, mask),
    )


# ---------------------------------------------------------------- values


@public
def test_worked_example(sub, ref):
    """the statement's example: √8 ≈ 2.828"""
    log_probs = torch.log(torch.tensor([[0.5, 0.25, 1.0], [0.1, 0.1, 0.1]]))
    mask = torch.tensor([[True, True, False], [True, True, True]])
    check_perplexity(sub, ref, log_probs, mask, "perplexity(log_probs, mask) for the statement's example")


def test_uniform_model_gives_the_vocabulary_size(sub, ref):
    """a uniform model over 50 tokens gives 50"""
    log_probs, mask = padded(torch.full((3, 6), -math.log(50.0)), [6, 4, 1], float("-inf"))
    check_perplexity(sub, ref, log_probs, mask, "the perplexity of a uniform model over 50 tokens")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_batches_match_the_reference(sub, ref, dtype, seed):
    """random batches, padding holding nan"""
    lengths = torch.randint(1, 8, (4,), generator=torch.Generator().manual_seed(seed)).tolist()
    log_probs = -randn(4, 7, seed=seed, dtype=dtype, scale=2.0).abs()  # (4, 7) every entry <= 0
    log_probs, mask = padded(log_probs, lengths, float("nan"))
    check_perplexity(sub, ref, log_probs, mask, f"perplexity(log_probs, mask) with lengths {lengths}", seed)


def test_sequence_with_no_real_token_gives_one(sub, ref):
    """an all-padding sequence gives 1, not nan"""
    log_probs, mask = padded(-randn(2, 4, seed=3).abs(), [3, 0], -1.0)
    check_perplexity(sub, ref, log_probs, mask, "perplexity(log_probs, mask) with a sequence of length 0")


# ---------------------------------------------------------------- errors


def test_mismatched_shapes_raise_value_error(sub):
    """a mask of another shape raises ValueError"""
    log_probs, mask = -randn(2, 3, seed=4).abs(), torch.ones(2, 4, dtype=torch.bool)
    expect_raises(ValueError, sub.perplexity, log_probs, mask, call="perplexity(log_probs [2, 3], mask [2, 4])")
