"""Specs for causal_mask: bottom-right alignment, the default k_len, dtype, device, errors,
and its use for a decode step together with scaled_dot_product_attention."""

import pytest
import torch
import torch.nn.functional as F

from grader.spec import RemoteException, check, check_close, describe, fail, public, randn, remote_meta


def expected_mask(q_len, k_len):
    """Query i sits at position k_len - q_len + i and sees keys j <= that position."""
    return torch.ones(q_len, k_len, dtype=torch.bool).tril(diagonal=k_len - q_len)


def check_mask(got, q_len, k_len, call):
    __tracebackhide__ = True
    check(hasattr(got, "dtype"), f"{call} should return a torch tensor")
    check(got.dtype == torch.bool, f"{call} should have dtype bool, got {str(got.dtype).removeprefix('torch.')}")
    check(list(got.shape) == [q_len, k_len], f"{call} should have shape [{q_len}, {k_len}], got {list(got.shape)}")
    want = expected_mask(q_len, k_len)
    if not torch.equal(got, want):
        why = ""
        if torch.equal(got, ~want):
            why = "The mask looks inverted: True means the query MAY attend the key."
        elif torch.equal(got, torch.ones(q_len, k_len, dtype=torch.bool).tril()):
            why = (
                f"The mask is aligned top-left (query i sees keys 0..i, like torch's is_causal); here the queries "
                f"are the last {q_len} of {k_len} positions, so query i sees keys 0..{k_len - q_len}+i."
            )
        elif torch.equal(got, torch.ones(q_len, k_len, dtype=torch.bool).tril(diagonal=k_len - q_len - 1)):
            why = "Each query should also see the key at its own position (j <= position, not <)."
        wrong = (got != want).nonzero()[0].tolist()
        fail(f"{call} is wrong at [query {wrong[0]}, key {wrong[1]}].", diagnosis=why)


@public
def test_square_mask_is_lower_triangular(sub):
    """causal_mask(4) is the 4x4 lower-triangular mask, diagonal included"""
    check_mask(sub.causal_mask(4), 4, 4, "causal_mask(4)")


@pytest.mark.parametrize("q_len, k_len", [(2, 5), (1, 6), (4, 7)])
def test_bottom_right_alignment(sub, q_len, k_len):
    """With fewer queries than keys, the queries are the last positions (a decode step)"""
    check_mask(sub.causal_mask(q_len, k_len), q_len, k_len, f"causal_mask({q_len}, {k_len})")


@pytest.mark.parametrize("n", [1, 5])
def test_default_k_len_is_q_len(sub, n):
    """causal_mask(n) and causal_mask(n, None) are the square lower-triangular mask"""
    check_mask(sub.causal_mask(n), n, n, f"causal_mask({n})")
    check_mask(sub.causal_mask(n, None), n, n, f"causal_mask({n}, None)")


def test_device_argument(sub, device):
    """The mask is created on the requested device, on the cpu by default"""
    got = sub.causal_mask(3, 5, device=device)
    where = remote_meta(got).device
    check(where.startswith(device), f"causal_mask(3, 5, device={device!r}) is on {where}, expected {device}")
    check_mask(got, 3, 5, f"causal_mask(3, 5, device={device!r})")
    default = remote_meta(sub.causal_mask(2)).device
    check(default == "cpu", f"causal_mask(2) with no device should be on the cpu, got {default}")


@pytest.mark.parametrize("args", [(5, 3), (-1, 3), (3, -1)])
def test_invalid_lengths_raise_value_error(sub, args):
    """q_len > k_len or a negative length: ValueError"""
    call = f"causal_mask{args}"
    try:
        sub.causal_mask(*args)
    except ValueError:
        return
    except RemoteException as exc:
        fail(f"expected ValueError from {call}, but it raised {exc.type_name}: {exc.remote_message[:200]}")
    q_len, k_len = args
    fail(
        f"expected ValueError from {call} (q_len > k_len or a negative length), but it returned normally",
        diagnosis=f"causal_mask accepts q_len > k_len ({q_len} > {k_len}): raise ValueError, there are fewer keys "
        "than queries"
        if q_len > k_len >= 0
        else f"causal_mask accepts a negative length ({q_len}, {k_len}): raise ValueError",
    )


def test_decode_step_matches_full_causal_attention(sub, device):
    """The last 2 queries over all 6 keys with causal_mask(2, 6) equal the last 2 rows of full causal attention"""
    L, n = 6, 2
    Q, K, V = randn(2, L, 4, seed=1), randn(2, L, 4, seed=2), randn(2, L, 3, seed=3)
    full = torch.ones(L, L, dtype=torch.bool).tril()
    q, k, v = Q.double(), K.double(), V.double()
    want_out = F.scaled_dot_product_attention(q, k, v, attn_mask=full)  # (2, L, 3)
    want_w = F.scaled_dot_product_attention(q, k, torch.eye(L, dtype=torch.float64), attn_mask=full)  # (2, L, L)
    step_mask = sub.causal_mask(n, L)
    got = sub.scaled_dot_product_attention(Q[:, -n:], K, V, step_mask)
    check(
        isinstance(got, (tuple, list)) and len(got) == 2, "scaled_dot_product_attention should return (output, weights)"
    )
    out, weights = got
    inputs = describe(Q=Q[:, -n:], K=K, V=V) + f", mask=causal_mask({n}, {L})"
    hint = ""
    if not (hasattr(step_mask, "shape") and torch.equal(step_mask.cpu(), expected_mask(n, L))):
        hint = "causal_mask(q_len, k_len) must put query i at position k_len - q_len + i."
    check_close(
        weights,
        want_w[:, -n:].float(),
        what="the decode step's weights",
        kind="reduction",
        inputs=inputs,
        hint=hint,
        device=device,
    )
    check_close(
        out,
        want_out[:, -n:].float(),
        what="the decode step's output",
        kind="reduction",
        inputs=inputs,
        hint=hint,
        device=device,
    )
