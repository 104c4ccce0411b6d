"""Specs for chunked_attention: values against torch's own attention in float64 (bottom-right
causal masks, ragged last blocks, scores near 1e3, low precision), hygiene, the ValueErrors,
and the memory test: Lq = Lk = 16384 within the challenge's 512 MiB budget."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.spec import (
    check,
    check_close,
    check_unchanged_inputs,
    describe,
    describe_value,
    diagnosing,
    expect_raises,
    lazy,
    public,
    randn,
    time_limit,
)

F64 = torch.float64
HALF = (torch.float16, torch.bfloat16)
DEFAULT_CHUNK = 128

# ---------------------------------------------------------------- the oracle


def bottom_right(q_len, k_len):
    """BoolTensor [q_len, k_len]: query i (at position k_len − q_len + i) may attend keys j ≤ its position."""
    return torch.ones(q_len, k_len, dtype=torch.bool).tril(k_len - q_len)


def oracle(Q, K, V, causal=False):
    """softmax(QKᵀ/√d)V in float64 from torch's F.scaled_dot_product_attention (bottom-right causal)."""
    q, k, v = Q.double(), K.double(), V.double()
    mask = bottom_right(q.shape[-2], k.shape[-2]) if causal else None
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)


# ---------------------------------------------------------------- typical mistakes (diagnosis)


def simulate(Q, K, V, causal, chunk_size, mistake=""):
    """The online softmax in float64 with one typical ``mistake`` ('' = none), as a learner writes it."""
    q, k, v = Q.double(), K.double(), V.double()
    d, Lq, Lk = q.shape[-1], q.shape[-2], k.shape[-2]
    scale = {"no_scale": 1.0, "scale_d": 1.0 / d}.get(mistake, 1.0 / math.sqrt(d))
    q = q * scale
    query_pos = torch.arange(Lq)[:, None] + (0 if mistake == "top_left" else Lk - Lq)  # (Lq, 1)
    m = torch.full((*q.shape[:-1], 1), float("-inf"), dtype=F64)
    denom = torch.zeros_like(m)
    acc = torch.zeros((*q.shape[:-1], v.shape[-1]), dtype=F64)
    stop = Lk - Lk % chunk_size if mistake == "drop_tail" else Lk
    pieces = []
    for start in range(0, stop, chunk_size):
        kc, vc = k[..., start : start + chunk_size, :], v[..., start : start + chunk_size, :]
        s = q @ kc.transpose(-2, -1)  # (..., Lq, C)
        if causal:
            key_pos = torch.arange(kc.shape[-2])[None, :] + (0 if mistake == "local_keys" else start)
            allowed = key_pos < query_pos if mistake == "strict" else key_pos <= query_pos
            s = s.masked_fill(~allowed, float("-inf"))
        if mistake in ("per_chunk_sum", "per_chunk_mean"):
            pieces.append(torch.nan_to_num(torch.softmax(s, dim=-1), nan=0.0) @ vc)
            continue
        block_max = s.amax(dim=-1, keepdim=True)
        if mistake == "fixed_max":
            m_new = block_max if start == 0 else m  # the first block's maximum, never updated
        else:
            m_new = torch.maximum(m, block_max)
        alpha = torch.exp(m - m_new)
        p = torch.exp(s - m_new)
        denom = (denom if mistake in ("no_l_rescale", "no_rescale") else denom * alpha) + p.sum(dim=-1, keepdim=True)
        acc = (acc if mistake in ("no_acc_rescale", "no_rescale") else acc * alpha) + p @ vc
        m = m_new
    if pieces:
        total = torch.stack(pieces)
        return total.sum(0) if mistake == "per_chunk_sum" else total.mean(0)
    return acc / denom


MISTAKES = {
    "no_acc_rescale": "The output matches an accumulator that is not rescaled when the running maximum grows: "
    "acc holds sums of exp(s − m_old)·v, so multiply it by exp(m_old − m_new), as you do l, before adding "
    "the new block.",
    "no_l_rescale": "The output matches a normaliser l that is not rescaled when the running maximum grows: "
    "l = l·exp(m_old − m_new) + the new block's sum, like the accumulator.",
    "no_rescale": "The output matches an accumulator and a normaliser that are never rescaled when the running "
    "maximum grows: both hold sums of exp(s − m_old) and must be multiplied by exp(m_old − m_new).",
    "local_keys": "The causal mask compares query positions with key indices local to each block "
    "(0..chunk_size−1): use each key's global position, start + j.",
    "top_left": "The causal mask is aligned top-left (query i attends keys ≤ i): the queries are the last Lq "
    "positions, so query i attends the keys at positions ≤ Lk − Lq + i (bottom-right).",
    "strict": "The causal mask excludes each query's own position: a query attends the keys at positions ≤ its "
    "own, itself included.",
    "per_chunk_sum": "The output matches a softmax normalised within each chunk, the chunks' outputs summed: "
    "keep one running normaliser l over all the blocks and divide by it once, at the end.",
    "per_chunk_mean": "The output matches a softmax normalised within each chunk, the chunks' outputs averaged: "
    "keep one running normaliser l over all the blocks and divide by it once, at the end.",
    "drop_tail": "The output matches attention over the full chunks only: the last, shorter chunk (Lk not a "
    "multiple of chunk_size) is dropped. Step range(0, Lk, chunk_size) and slice up to Lk.",
    "no_scale": "The output matches softmax(QKᵀ)V without scaling: is the 1/√d factor missing?",
    "scale_d": "The output matches scores divided by d: scale by 1/√d, not 1/d.",
}
FIXED_MAX = (
    "The output overflows (inf/nan) where later blocks hold much larger scores than the first: exp(s − m) is "
    "taken with an m that is not the running maximum (a maximum fixed from the first block, or no maximum "
    "subtracted at all). Update the running maximum with every block, m_new = max(m, block max), and rescale "
    "what you summed so far by exp(m_old − m_new)."
)
FLOAT32_SIZED = (
    "The errors are the size of float32 rounding: a float64 input is computed in float32 somewhere (.float()); "
    "compute float64 inputs in float64."
)
FULL_MATRIX = (
    "The call ran out of its 512 MiB on Lq = Lk = 16384: something of size Lq × Lk exists at once — the full "
    "score matrix is 1 GiB in float32, even if allocated once and filled in place, and so are all the blocks' "
    "scores kept in a list, or a float mask of that size. Keep one [Lq, chunk_size] block of scores at a time "
    "with a running max m, normaliser l and accumulator acc."
)
IN_PLACE = "The call changes its input(s) in place (Q /= √d, Q.mul_(...)): compute new tensors instead."


def dtype_mistake(got, want):
    """Why a result has the wrong dtype, where the pattern is a known one, or ''."""
    if not hasattr(got, "dtype") or got.dtype == want:
        return ""
    if want in HALF and got.dtype == torch.float32:
        return "The result is computed in float32 but not cast back: return it in Q's dtype (.to(Q.dtype))."
    if want == F64 and got.dtype == torch.float32:
        return "A float64 input is computed and returned in float32 (.float()): compute float64 inputs in float64."
    return ""


def diagnose(got, Q, K, V, causal=False, chunk_size=DEFAULT_CHUNK):
    """The typical mistake whose output the submission's matches, in the learner's words, or ''."""
    if not hasattr(got, "shape"):
        return ""
    if dtype_mistake(got, Q.dtype):
        return dtype_mistake(got, Q.dtype)
    got = got.double().cpu()
    expected = oracle(Q, K, V, causal)
    if got.shape != expected.shape:
        return ""
    bad = ~torch.isfinite(got)
    if bad.any():
        fixed = ~torch.isfinite(simulate(Q, K, V, causal, chunk_size, "fixed_max"))
        return FIXED_MAX if fixed.any() and bad.any(dim=-1).equal(fixed.any(dim=-1)) else ""
    if Q.dtype == F64:
        error = (got - expected).abs().max().item()
        if 1e-7 < error < 1e-4:
            return FLOAT32_SIZED
    matches = []
    for name, hint in MISTAKES.items():
        if name in ("local_keys", "top_left", "strict") and not causal:
            continue
        wrong = simulate(Q, K, V, causal, chunk_size, name)
        if wrong.shape != got.shape or not torch.isfinite(wrong).all():
            continue
        if torch.allclose(wrong, expected, rtol=1e-3, atol=1e-3):
            continue  # this case cannot tell that mistake from the right answer
        if torch.allclose(got, wrong, rtol=1e-3, atol=1e-3):
            matches.append(hint)
    return matches[0] if len(matches) == 1 else ""  # a case two mistakes explain names neither


def attend(sub, Q, K, V, causal=False, chunk_size=None):
    """Call the submission (chunk_size left to its default when None)."""
    __tracebackhide__ = True
    kwargs = {"causal": causal} if chunk_size is None else {"causal": causal, "chunk_size": chunk_size}
    return sub.chunked_attention(Q, K, V, **kwargs)


def check_attention(got, Q, K, V, causal=False, chunk_size=None, *, device, seed=None, what="the output", hint=""):
    """Check an output against the oracle, cast to Q's dtype, with the typical mistakes diagnosed."""
    __tracebackhide__ = True
    chunk = DEFAULT_CHUNK if chunk_size is None else chunk_size
    shown = {"causal": causal, "chunk_size": chunk_size if chunk_size is not None else "default (128)"}
    want = oracle(Q, K, V, causal)
    rtol, atol = None, None
    if Q.dtype in HALF:  # the rounding of the result to Q's dtype, twice over (SPEC_GUIDE: pitfalls)
        rtol, atol = {torch.float16: (1e-2, 1e-2), torch.bfloat16: (5e-2, 5e-2)}[Q.dtype]
    check_close(
        got,
        want.to(Q.dtype),
        what=what,
        kind="reduction",
        rtol=rtol,
        atol=atol,
        inputs=describe(Q=Q, K=K, V=V, **shown),
        seed=seed,
        hint=hint,
        diagnosis=lazy(diagnose, got, Q, K, V, causal, chunk),
        device=device,
    )


# ---------------------------------------------------------------- values


@public
def test_hand_computed_example(sub, device):
    """One query, three keys in blocks of 2: scores [0, √2, 2√2], the last block shorter"""
    Q = torch.tensor([[1.0, 0.0]])
    K = torch.tensor([[0.0, 0.0], [2.0, 0.0], [4.0, 0.0]])
    V = torch.tensor([[1.0], [2.0], [3.0]])
    e1, e2 = math.exp(math.sqrt(2)), math.exp(2 * math.sqrt(2))
    expected = torch.tensor([[(1 + 2 * e1 + 3 * e2) / (1 + e1 + e2)]])  # 2.7225
    got = attend(sub, Q, K, V, chunk_size=2)
    check_close(
        got,
        expected,
        what="the output",
        kind="reduction",
        inputs=describe(Q=Q, K=K, V=V, chunk_size=2),
        diagnosis=lazy(diagnose, got, Q, K, V, False, 2),
        device=device,
    )


@public
def test_hand_computed_causal_example(sub, device):
    """Two queries at positions 1 and 2 over three keys (bottom-right): the first may not see key 2"""
    Q = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    K = torch.tensor([[0.0, 0.0], [2.0, 0.0], [4.0, 0.0]])
    V = torch.tensor([[1.0], [2.0], [3.0]])
    e1, e2 = math.exp(math.sqrt(2)), math.exp(2 * math.sqrt(2))
    expected = torch.tensor([[(1 + 2 * e1) / (1 + e1)], [(1 + 2 * e1 + 3 * e2) / (1 + e1 + e2)]])
    got = attend(sub, Q, K, V, causal=True, chunk_size=2)
    check_close(
        got,
        expected,
        what="the output",
        kind="reduction",
        inputs=describe(Q=Q, K=K, V=V, causal=True, chunk_size=2),
        hint="Query i sits at position Lk − Lq + i and attends the keys at positions ≤ its own.",
        diagnosis=lazy(diagnose, got, Q, K, V, True, 2),
        device=device,
    )


SHAPES = {  # (Q shape, K shape, V shape, chunk_size)
    "no_batch_ragged": ((6, 8), (11, 8), (11, 5), 4),
    "batch_2x3_exact": ((2, 3, 5, 8), (2, 3, 12, 8), (2, 3, 12, 8), 4),
    "chunk_1": ((3, 4, 6), (3, 7, 6), (3, 7, 3), 1),
    "chunk_larger_than_lk": ((2, 5, 4), (2, 6, 4), (2, 6, 7), 64),
    "lq_gt_lk": ((2, 9, 4), (2, 5, 4), (2, 5, 2), 2),
    "one_key": ((4, 3), (1, 3), (1, 2), 3),
}


@pytest.mark.parametrize("case", list(SHAPES))
def test_matches_attention(sub, device, case):
    """Non-causal output against softmax(QKᵀ/√d)V, with and without batch dimensions"""
    q_shape, k_shape, v_shape, chunk = SHAPES[case]
    Q, K, V = randn(*q_shape, seed=1, scale=2.0), randn(*k_shape, seed=2, scale=2.0), randn(*v_shape, seed=3)
    check_attention(attend(sub, Q, K, V, chunk_size=chunk), Q, K, V, chunk_size=chunk, device=device, seed=1)


CAUSAL = {  # (Lq, Lk, chunk_size)
    "square_ragged": (10, 10, 4),
    "decode_step": (1, 9, 4),
    "lq_lt_lk_ragged": (5, 13, 3),
    "lq_lt_lk_exact": (4, 12, 4),
    "chunk_1": (6, 8, 1),
}


@pytest.mark.parametrize("case", list(CAUSAL))
def test_causal_is_bottom_right(sub, device, case):
    """causal=True: query i attends keys at positions ≤ Lk − Lq + i, over several blocks"""
    Lq, Lk, chunk = CAUSAL[case]
    Q, K, V = randn(2, Lq, 8, seed=10, scale=2.0), randn(2, Lk, 8, seed=11, scale=2.0), randn(2, Lk, 4, seed=12)
    check_attention(
        attend(sub, Q, K, V, causal=True, chunk_size=chunk),
        Q,
        K,
        V,
        causal=True,
        chunk_size=chunk,
        device=device,
        seed=10,
        hint="The queries are the last Lq positions: query i attends the keys at positions ≤ Lk − Lq + i.",
    )


def test_default_chunk_size_with_a_ragged_tail(sub, device):
    """chunk_size left at its default (128) over 300 keys: two full blocks and one of 44"""
    Q, K, V = randn(2, 7, 16, seed=20, scale=2.0), randn(2, 300, 16, seed=21, scale=2.0), randn(2, 300, 6, seed=22)
    check_attention(attend(sub, Q, K, V), Q, K, V, device=device, seed=20)
    check_attention(attend(sub, Q, K, V, causal=True), Q, K, V, causal=True, device=device, seed=20)


def _growing_scores(Lq, Lk, seed):
    """Integer-valued Q, K (d = 4) whose scores grow from ~0 in the first block to ~1000 in the last,
    exact in float32 (scores QKᵀ/2 are halves of integers)."""
    gen = torch.Generator().manual_seed(seed)
    Q = torch.randint(-2, 3, (Lq, 4), generator=gen).float()
    K = torch.randint(-2, 3, (Lk, 4), generator=gen).float()
    Q[:, 0] = 20.0
    K[:, 0] = torch.linspace(0, 100, Lk).round()  # (Lk,): later keys score up to 20·100/2 = 1000
    V = randn(Lk, 3, seed=seed)
    return Q, K, V


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
def test_scores_near_1e3_grow_across_blocks(sub, device, causal):
    """Scores from ~0 in the first block to ~1000 in the last: the running maximum must follow them"""
    Q, K, V = _growing_scores(5, 18, seed=30)
    got = attend(sub, Q, K, V, causal=causal, chunk_size=4)
    check(
        hasattr(got, "isfinite") and bool(torch.isfinite(got).all()),
        f"the output is not finite (got {describe_value(got)}) when the scores grow from ~0 in the first block "
        f"to ~1000 in the last. Inputs: {describe(Q=Q, K=K, V=V, causal=causal, chunk_size=4)}.",
        diagnosis=lazy(diagnose, got, Q, K, V, causal, 4),
    )
    check_attention(got, Q, K, V, causal, 4, device=device, what="the output with scores up to ~1000")


def test_float64_stays_float64(sub, device):
    """float64 inputs are computed in float64 (tolerance 1e-7, scores of magnitude ~50)"""
    Q, K, V = (
        randn(3, 6, 8, seed=40, dtype=F64, scale=5.0),
        randn(3, 14, 8, seed=41, dtype=F64, scale=5.0),
        randn(3, 14, 5, seed=42, dtype=F64, scale=10.0),
    )
    check_attention(attend(sub, Q, K, V, chunk_size=4), Q, K, V, chunk_size=4, device=device, seed=40)
    got = attend(sub, Q, K, V, causal=True, chunk_size=5)
    check_attention(got, Q, K, V, causal=True, chunk_size=5, device=device, seed=40)


@pytest.mark.parametrize("dtype", HALF)
def test_low_precision_inputs(sub, device, dtype):
    """float16/bfloat16 in, the same dtype out (computed in float32); scores up to ~20 overflow a float16 exp"""
    Q, K, V = (
        randn(2, 6, 16, seed=50, dtype=dtype, scale=1.5),
        randn(2, 37, 16, seed=51, dtype=dtype, scale=1.5),
        randn(2, 37, 8, seed=52, dtype=dtype),
    )
    check_attention(attend(sub, Q, K, V, chunk_size=8), Q, K, V, chunk_size=8, device=device, seed=50)
    got = attend(sub, Q, K, V, causal=True, chunk_size=8)
    check_attention(got, Q, K, V, causal=True, chunk_size=8, device=device, seed=50)


@settings(
    derandomize=True,
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    report_multiple_bugs=False,  # one failure, not an ExceptionGroup the grader would call its own fault
)
@given(
    lq=st.integers(1, 7),
    lk=st.integers(1, 12),
    d=st.integers(1, 6),
    dv=st.integers(1, 4),
    chunk=st.integers(1, 6),
    batch=st.sampled_from([(), (2,), (2, 2)]),
    causal=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_random_shapes_and_chunks(sub, lq, lk, d, dv, chunk, batch, causal, seed):
    """Random shapes, chunk sizes and causal flags against torch's attention"""
    causal = causal and lq <= lk
    Q = randn(*batch, lq, d, seed=seed, scale=2.0)
    K, V = randn(*batch, lk, d, seed=seed + 1, scale=2.0), randn(*batch, lk, dv, seed=seed + 2)
    got = attend(sub, Q, K, V, causal=causal, chunk_size=chunk)
    check_attention(got, Q, K, V, causal, chunk, device="cpu", seed=seed)


# ---------------------------------------------------------------- memory


@time_limit(60)
def test_memory_grows_with_chunk_size_not_lk(sub):
    """Lq = Lk = 16384, d = 64, float32, causal, within 512 MiB: a full score matrix alone is 1 GiB"""
    L, d = 16384, 64
    Q, K, V = randn(L, d, seed=60), randn(L, d, seed=61), randn(L, d, seed=62)
    try:
        got = sub.chunked_attention(Q, K, V, causal=True)
    except Exception as exc:  # the grader's MemoryLimitExceeded: name the mistake, keep the verdict
        if getattr(exc, "outcome", "") == "memory_limit":
            exc.diagnosis = FULL_MATRIX
        raise
    inputs = describe(Q=Q, K=K, V=V, causal=True, chunk_size="default (128)")
    check(
        hasattr(got, "shape") and list(got.shape) == [L, d],
        f"the output should be a tensor of shape [{L}, {d}], got {describe_value(got)}. Inputs: {inputs}.",
    )
    sampled = torch.randperm(L, generator=torch.Generator().manual_seed(63))[:62]
    rows = torch.cat([torch.tensor([0, 1, L - 1]), sampled]).unique()  # (~65,): first, second, last and random
    scores = Q[rows].double() @ K.double().T / math.sqrt(d)  # (rows, L): only the sampled rows, in the judge
    scores = scores.masked_fill(torch.arange(L)[None, :] > rows[:, None], float("-inf"))  # Lq = Lk: key j <= i
    want = torch.softmax(scores, dim=-1) @ V.double()  # (rows, d)
    check_close(
        got[rows],
        want.float(),
        what=f"the output (on {len(rows)} sampled query rows)",
        kind="reduction",
        inputs=inputs,
        seed=60,
        hint="Query i attends keys 0..i here (Lq = Lk).",
        device="cpu",
    )


# ---------------------------------------------------------------- hygiene and errors


def test_inputs_not_modified(sub):
    """Q, K and V are left unchanged"""
    Q, K, V = randn(2, 4, 8, seed=70), randn(2, 9, 8, seed=71), randn(2, 9, 3, seed=72)
    attend(sub, Q, K, V, causal=True, chunk_size=4)
    with diagnosing(IN_PLACE):
        check_unchanged_inputs(sub, ["Q", "K", "V"])


BAD_CHUNKS = {
    "zero": (0, "chunk_size=0 is not ≥ 1: check chunk_size before using it."),
    "negative": (-4, "A negative chunk_size was accepted (range(0, Lk, -4) is empty): check chunk_size ≥ 1."),
    "float": (4.0, "chunk_size=4.0 was accepted: it must be a Python int (type(chunk_size) is int)."),
    "bool": (
        True,
        "chunk_size=True was accepted: bool is a subclass of int in Python, so isinstance(True, int) holds; "
        "refuse bools as the prompt says (type(chunk_size) is int, or check isinstance(chunk_size, bool) first).",
    ),
}


@pytest.mark.parametrize("case", list(BAD_CHUNKS))
def test_invalid_chunk_size_raises(sub, case):
    """chunk_size must be a Python int ≥ 1 (not a bool, not a float): ValueError"""
    chunk, why = BAD_CHUNKS[case]
    Q, K, V = randn(3, 4, seed=80), randn(6, 4, seed=81), randn(6, 2, seed=82)
    expect_raises(
        ValueError,
        sub.chunked_attention,
        Q,
        K,
        V,
        chunk_size=chunk,
        call=f"chunked_attention(Q [3, 4], K [6, 4], V [6, 2], chunk_size={chunk!r})",
        diagnosis=why,
    )


ERRORS = {
    "d_mismatch": ((3, 4), (5, 6), (5, 2), False, "Q has d=4 but K has d=6"),
    "kv_length_mismatch": ((3, 4), (5, 4), (6, 2), False, "K has 5 keys but V has 6 values"),
    "batched_kv_length_mismatch": ((2, 3, 4), (2, 5, 4), (2, 4, 2), False, "K has 5 keys but V has 4 values"),
    "causal_lq_gt_lk": ((2, 6, 4), (2, 4, 4), (2, 4, 2), True, "causal=True with Lq=6 queries over Lk=4 keys"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_invalid_shapes_raise_value_error(sub, case):
    """Mismatched feature sizes or K/V lengths, or causal with Lq > Lk: ValueError"""
    q_shape, k_shape, v_shape, causal, why = ERRORS[case]
    Q, K, V = randn(*q_shape, seed=85), randn(*k_shape, seed=86), randn(*v_shape, seed=87)
    expect_raises(
        ValueError,
        sub.chunked_attention,
        Q,
        K,
        V,
        causal=causal,
        chunk_size=2,
        call=f"chunked_attention(Q {list(q_shape)}, K {list(k_shape)}, V {list(v_shape)}, causal={causal}, "
        "chunk_size=2)",
        diagnosis=f"The arguments are not checked: {why}. Compare the shapes before computing and raise "
        "ValueError with a message saying what is wrong (torch's own error is a RuntimeError).",
    )
