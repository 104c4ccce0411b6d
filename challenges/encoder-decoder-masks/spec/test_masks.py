"""Specs for make_masks: the three masks against a from-scratch per-element oracle (shapes,
dtype, values), integer inputs, padded query rows, the device, hygiene and the ValueErrors.
Each wrong value is compared with the masks the typical mistakes produce, to name them."""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.spec import (
    RemoteException,
    check,
    check_unchanged_inputs,
    describe,
    diagnosing,
    expect_raises,
    fail,
    lazy,
    public,
    remote_meta,
)

NAMES = ("enc_self", "dec_self", "cross")

# ---------------------------------------------------------------- cases and the oracle


def pads(batch, length, *, seed, dtype=torch.bool):
    """A seeded padding mask [batch, length]: each row real tokens then padding (row 0 has
    none, the others 0..length−1 padded positions), plus a scattered pad to break prefix shapes."""
    gen = torch.Generator().manual_seed(seed)
    out = torch.zeros(batch, length, dtype=torch.bool)
    for b in range(1, batch):
        n_pad = int(torch.randint(1, max(length, 2), (1,), generator=gen))
        out[b, length - min(n_pad, length - 1) :] = True
    if batch > 1 and length > 2:
        out[batch - 1, int(torch.randint(0, length, (1,), generator=gen))] = True
    return out.to(dtype)


def oracle(src_pad, tgt_pad):
    """The three masks element by element, straight from the formulas (bool, [B, 1, ·, ·])."""
    src, tgt = src_pad.tolist(), tgt_pad.tolist()
    B, S, T = len(src), len(src[0]), len(tgt[0])
    enc = [[[[not src[b][j] for j in range(S)] for _ in range(S)]] for b in range(B)]
    dec = [[[[j <= i and not tgt[b][j] for j in range(T)] for i in range(T)]] for b in range(B)]
    cross = [[[[not src[b][j] for j in range(S)] for _ in range(T)]] for b in range(B)]
    shape = {"enc_self": (B, 1, S, S), "dec_self": (B, 1, T, T), "cross": (B, 1, T, S)}
    tensors = [torch.tensor(m, dtype=torch.bool).reshape(shape[n]) for m, n in zip((enc, dec, cross), NAMES)]
    return dict(zip(NAMES, tensors))


# ---------------------------------------------------------------- typical mistakes (diagnosis)


def variants(name, src_pad, tgt_pad):
    """(mask a typical mistake returns, diagnosis) for mask `name`, most specific first."""
    src_keep, tgt_keep = ~src_pad.bool(), ~tgt_pad.bool()
    B, S = src_keep.shape
    T = tgt_keep.shape[1]
    keep = src_keep if name != "dec_self" else tgt_keep
    pad = ~keep
    n_q = S if name == "enc_self" else T
    n_k = keep.shape[1]
    q_keep = src_keep if name == "enc_self" else tgt_keep  # the padding of the queries (rows)
    keys = keep[:, None, None, :].expand(B, 1, n_q, n_k)
    rows = q_keep[:, None, :, None].expand(B, 1, n_q, n_k)
    ones = torch.ones(n_q, n_k, dtype=torch.bool)
    tril, tril_strict, triu = ones.tril(), ones.tril(-1), ones.triu()
    tril_br = ones.tril(n_k - n_q)
    inverted = "The mask looks inverted (polarity flipped): True means the query MAY attend the key."
    pad_polarity = (
        "The padding polarity is flipped: src_pad/tgt_pad are True at padding, so the allowed keys are "
        "~pad (keys that are NOT padding)."
    )
    query_axis = (
        "The padding is applied on the query axis (rows) instead of the key axis (columns): "
        "mask[b, 0, i, j] depends on whether KEY j is padding, e.g. keep[:, None, None, :]."
    )
    both_axes = (
        "Padded queries' rows are masked too: only keys are masked, a padded query's row stays as the "
        "formula says (its output is ignored anyway)."
    )
    out = []
    if name == "enc_self":
        want = keys
        out += [
            (~want, inverted),
            (pad[:, None, None, :].expand(B, 1, n_q, n_k), pad_polarity),
            (rows & tril, query_axis + " (and the encoder is bidirectional: never causal)"),
            (rows, query_axis),
            (keys & rows, both_axes),
            (keys & tril, "The encoder's self-attention is bidirectional: padding only, never causal."),
            (keys.new_ones(B, 1, n_q, n_k), "No source padding is masked: enc_self must be ~src_pad[b, j]."),
        ]
    elif name == "dec_self":
        want = keys & tril
        out += [
            (~want, inverted),
            (pad[:, None, None, :] & tril, pad_polarity),
            (~keys & ~tril, inverted),
            (keys & tril_strict, "Each query should also see the key at its own position (j <= i, not j < i)."),
            (
                keys & triu,
                "The triangle is the wrong way round: each query may attend itself and EARLIER keys (j <= i, "
                "tril), not the future.",
            ),
            (
                keys & ones.triu(1),
                "That is the blocked future (triu(ones, 1), True = blocked in torch's nn.Transformer) used as "
                "the allowed set: True here means may attend, j <= i.",
            ),
            (
                tril.expand(B, 1, n_q, n_k),
                "The decoder mask has no target padding: dec_self = causal AND ~tgt_pad[b, j].",
            ),
            (keys | tril, "The causal and padding conditions must be combined with AND, not OR."),
            (rows & tril, query_axis),
            (keys & rows & tril, both_axes),
            (keys, "The decoder's self-attention must be causal (j <= i) as well as padding-masked."),
        ]
    else:
        want = keys
        out += [
            (~want, inverted),
            (pad[:, None, None, :].expand(B, 1, n_q, n_k), pad_polarity),
            (
                keys & tril,
                "Cross-attention is never causal: every target position may read the whole unpadded source "
                "(the causal mask is for the decoder's self-attention only).",
            ),
            (
                keys & tril_br,
                "Cross-attention is never causal (bottom-right triangle here): every target position may read "
                "the whole unpadded source.",
            ),
            (
                tgt_keep[:, None, :, None].expand(B, 1, n_q, n_k),
                "The cross mask uses the target padding on the query axis: it masks the source KEYS, "
                "~src_pad[b, j]. " + query_axis,
            ),
            (keys & tgt_keep[:, None, :, None], both_axes),
            (keys.new_ones(B, 1, n_q, n_k), "No source padding is masked in cross: cross must be ~src_pad[b, j]."),
        ]
    return [(m, why) for m, why in out if not torch.equal(m, want)]


def diagnose_values(name, got, src_pad, tgt_pad, want):
    got = got.cpu().bool()
    if src_pad.dtype != torch.bool and torch.equal(got, variants_all_allowed(name, src_pad, tgt_pad)):
        return (
            "With 0/1 integer inputs no padding is masked: ~ on an integer tensor gives -1/-2 (both "
            "truthy), not 1/0. Convert with .bool() (or compare == 0) before negating."
        )
    for mask, why in variants(name, src_pad, tgt_pad):
        if torch.equal(got, mask):
            return why
    return ""


def variants_all_allowed(name, src_pad, tgt_pad):
    """The mask with no padding at all (what ~ on 0/1 integers then .bool() gives)."""
    no_src, no_tgt = torch.zeros(src_pad.shape, dtype=torch.bool), torch.zeros(tgt_pad.shape, dtype=torch.bool)
    return oracle(no_src, no_tgt)[name]


def diagnose_shape(name, shape, src_pad, tgt_pad):
    B, S = src_pad.shape
    T = tgt_pad.shape[1]
    n_q, n_k = {"enc_self": (S, S), "dec_self": (T, T), "cross": (T, S)}[name]
    if shape == [B, n_q, n_k]:
        return "The head axis is missing: the masks are [B, 1, Lq, Lk], the 1 broadcasting over the heads."
    if shape == [B, 1, 1, n_k] and n_q != 1:
        return (
            f"{name} is in its broadcastable form [B, 1, 1, {n_k}]: expand it to the full [B, 1, {n_q}, {n_k}] "
            "(mask.expand(...) is fine, an expanded view is accepted)."
        )
    if name == "cross" and shape == [B, 1, S, T] and S != T:
        return "cross is transposed: its rows are the target queries and its columns the source keys, [B, 1, T, S]."
    if shape == [B, n_q, 1, n_k] or shape == [1, B, n_q, n_k]:
        return "The head axis is in the wrong place: it is dim 1, [B, 1, Lq, Lk]."
    return ""


def check_mask(name, got, want, src_pad, tgt_pad, call):
    __tracebackhide__ = True
    check(hasattr(got, "shape") and hasattr(got, "dtype"), f"{name} from {call} should be a torch tensor")
    shape = list(got.shape)
    check(
        shape == list(want.shape),
        f"{name} from {call} should have shape {list(want.shape)}, got {shape}",
        diagnosis=lazy(diagnose_shape, name, shape, src_pad, tgt_pad),
    )
    if got.dtype != torch.bool:
        why = "The masks must have dtype torch.bool (True = may attend), not 0/1 numbers."
        if got.dtype.is_floating_point:
            why = (
                "Float masks: the masks must be torch.bool. A float 0/1 mask is ADDED to the scores by "
                "F.scaled_dot_product_attention (0 and 1, not 0 and −inf) and ~ fails on it."
            )
        elif src_pad.dtype != torch.bool:
            why = (
                "The integer inputs were negated with ~ (which gives -1/-2 on 0/1 integers) or not "
                "converted: turn them into bool first (.bool(), or pad == 0); the masks are torch.bool."
            )
        fail(f"{name} from {call} should have dtype bool, got {str(got.dtype).removeprefix('torch.')}", diagnosis=why)
    if not torch.equal(got.cpu(), want):
        b, _, i, j = (got.cpu() != want).nonzero()[0].tolist()
        fail(
            f"{name} from {call} is wrong at [batch {b}, 0, query {i}, key {j}]: expected {bool(want[b, 0, i, j])}, "
            f"got {bool(got[b, 0, i, j])}",
            diagnosis=lazy(diagnose_values, name, got, src_pad, tgt_pad, want),
        )


def run(sub, src_pad, tgt_pad):
    """Call make_masks, check it returns three masks, and compare each with the oracle."""
    __tracebackhide__ = True
    call = f"make_masks({describe(src_pad=src_pad, tgt_pad=tgt_pad)})"
    got = sub.make_masks(src_pad, tgt_pad)
    check(
        isinstance(got, (tuple, list)) and len(got) == 3,
        f"{call} should return a tuple (enc_self, dec_self, cross), got {type(got).__name__}",
    )
    want = oracle(src_pad, tgt_pad)
    for name, mask in zip(NAMES, got):
        check_mask(name, mask, want[name], src_pad, tgt_pad, call)
    return got


# ---------------------------------------------------------------- the tests

EXAMPLE_SRC = torch.tensor([[0, 0, 1], [0, 0, 0]], dtype=torch.bool)
EXAMPLE_TGT = torch.tensor([[0, 0, 0, 1], [0, 0, 1, 1]], dtype=torch.bool)


@public
def test_example(sub):
    """The prompt's example: B = 2, S = 3, T = 4"""
    run(sub, EXAMPLE_SRC, EXAMPLE_TGT)


@pytest.mark.parametrize("B, S, T, seed", [(3, 5, 4, 1), (2, 4, 6, 2), (4, 7, 7, 3), (1, 2, 5, 4), (5, 3, 2, 5)])
def test_random_padding(sub, B, S, T, seed):
    """Random padding patterns, source and target of different lengths"""
    run(sub, pads(B, S, seed=seed), pads(B, T, seed=seed + 100))


@st.composite
def pad_pairs(draw):
    """Any padding patterns (not only suffixes): B in 1..3, S and T in 1..6."""
    B, S, T = draw(st.integers(1, 3)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    src = draw(st.lists(st.lists(st.booleans(), min_size=S, max_size=S), min_size=B, max_size=B))
    tgt = draw(st.lists(st.lists(st.booleans(), min_size=T, max_size=T), min_size=B, max_size=B))
    return torch.tensor(src, dtype=torch.bool), torch.tensor(tgt, dtype=torch.bool)


@settings(
    derandomize=True,
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    report_multiple_bugs=False,
)
@given(case=pad_pairs())
def test_any_padding_pattern(sub, case):
    """Arbitrary padding patterns and sizes"""
    run(sub, *case)


def test_no_padding(sub):
    """Without padding: enc_self and cross are all True, dec_self is the lower triangle"""
    run(sub, torch.zeros(2, 4, dtype=torch.bool), torch.zeros(2, 3, dtype=torch.bool))


def test_padded_query_rows_follow_the_formula(sub):
    """Only keys are masked: the row of a padded query is the same as any other row"""
    src = torch.tensor([[0, 0, 0, 1, 1]], dtype=torch.bool)
    tgt = torch.tensor([[0, 0, 1, 1]], dtype=torch.bool)
    run(sub, src, tgt)


def test_length_one(sub):
    """S = 1 and T = 1"""
    run(sub, torch.tensor([[False], [True]]), torch.tensor([[False], [False]]))


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8])
def test_integer_inputs(sub, dtype):
    """0/1 integer padding masks give the same bool masks as bool ones"""
    run(sub, pads(3, 5, seed=7, dtype=dtype), pads(3, 4, seed=8, dtype=dtype))


def test_device(sub, device):
    """The masks are on the inputs' device"""
    got = sub.make_masks(EXAMPLE_SRC, EXAMPLE_TGT)
    check(isinstance(got, (tuple, list)) and len(got) == 3, "make_masks should return (enc_self, dec_self, cross)")
    for name, mask in zip(NAMES, got):
        where = remote_meta(mask).device if remote_meta(mask) is not None else "cpu"
        check(where.startswith(device), f"{name} is on {where}, expected the inputs' device {device}")


def test_inputs_unchanged(sub):
    """make_masks does not modify src_pad or tgt_pad"""
    src, tgt = pads(3, 5, seed=11), pads(3, 4, seed=12)
    sub.make_masks(src, tgt)
    with diagnosing(
        "An input was modified in place (e.g. logical_not_() or ~= on src_pad/tgt_pad): negate into a new tensor."
    ):
        check_unchanged_inputs(sub, ["src_pad", "tgt_pad"])
    src_i, tgt_i = pads(2, 3, seed=13, dtype=torch.int64), pads(2, 4, seed=14, dtype=torch.int64)
    sub.make_masks(src_i, tgt_i)
    with diagnosing("An integer input was modified in place: compute the masks into new tensors."):
        check_unchanged_inputs(sub, ["src_pad", "tgt_pad"])


NOT_CHECKED = "The shapes are not checked: raise ValueError when an input is not 2-D or the batch sizes differ"


@pytest.mark.parametrize(
    "src_shape, tgt_shape",
    [((2, 3), (3, 4)), ((1, 3), (2, 4)), ((3,), (3, 4)), ((2, 3), (4,)), ((2, 1, 3), (2, 4)), ((2, 3), (2, 4, 1))],
)
def test_invalid_shapes_raise_value_error(sub, src_shape, tgt_shape):
    """Inputs not 2-D, or batch sizes that differ: ValueError"""
    src, tgt = torch.zeros(src_shape, dtype=torch.bool), torch.zeros(tgt_shape, dtype=torch.bool)
    call = f"make_masks(src_pad bool{list(src_shape)}, tgt_pad bool{list(tgt_shape)})"
    what = "batch sizes differ" if len(src_shape) == len(tgt_shape) == 2 else "an input is not 2-D"
    try:
        expect_raises(ValueError, sub.make_masks, src, tgt, call=call, diagnosis=f"{NOT_CHECKED} (here {what}).")
    except RemoteException as exc:  # pragma: no cover - expect_raises turns these into failures
        fail(f"{call} raised {exc.type_name}", diagnosis=f"{NOT_CHECKED} (here {what}).")
