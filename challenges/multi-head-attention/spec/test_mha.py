"""Specs for MultiHeadAttention: values against torch.nn.MultiheadAttention(batch_first=True)
in float64 given the same weights, per-head weights, key padding, bottom-right causal masks,
fully masked queries, low precision, input and parameter gradients, hygiene and errors."""

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from grader.spec import (
    RemoteException,
    check,
    check_close,
    check_param_grads,
    check_unchanged_inputs,
    describe,
    diagnosing,
    fail,
    lazy,
    public,
    randn,
    tolerance,
)

F64 = torch.float64
PROJ = ("q_proj", "k_proj", "v_proj", "out_proj")

# ---------------------------------------------------------------- weights and the oracle


def make_sd(d_model, bias=True, seed=0):
    """A seeded float64 state dict in the learner's names (q_proj.weight, ..., out_proj.bias)."""
    sd = {}
    for i, name in enumerate(PROJ):
        sd[f"{name}.weight"] = randn(d_model, d_model, seed=seed * 10 + i, dtype=F64, scale=1 / math.sqrt(d_model))
        if bias:
            sd[f"{name}.bias"] = randn(d_model, seed=seed * 10 + 5 + i, dtype=F64, scale=0.5)
    return sd


def torch_mha(sd, num_heads, dtype=F64):
    """torch.nn.MultiheadAttention(batch_first=True) holding the weights ``sd``, in ``dtype``."""
    d_model = sd["q_proj.weight"].shape[0]
    bias = "q_proj.bias" in sd
    mha = nn.MultiheadAttention(d_model, num_heads, bias=bias, batch_first=True, dtype=dtype)
    state = {
        "in_proj_weight": torch.cat([sd[f"{n}.weight"] for n in PROJ[:3]]),
        "out_proj.weight": sd["out_proj.weight"],
    }
    if bias:
        state["in_proj_bias"] = torch.cat([sd[f"{n}.bias"] for n in PROJ[:3]])
        state["out_proj.bias"] = sd["out_proj.bias"]
    mha.load_state_dict({k: v.to(dtype) for k, v in state.items()})
    return mha


def allowed_mask(B, Lq, Lk, key_padding_mask=None, causal=False, polarity=False, align="bottom_right"):
    """[B, Lq, Lk] bool, True where query i may attend key j."""
    allowed = torch.ones(B, Lq, Lk, dtype=torch.bool)
    if key_padding_mask is not None:
        pad = key_padding_mask.bool()
        allowed = allowed & (pad if polarity else ~pad)[:, None, :]
    if causal:
        i, j = torch.arange(Lq)[:, None], torch.arange(Lk)[None, :]
        if align == "top_left":
            allowed = allowed & (j <= i)
        elif align == "no_diagonal":
            allowed = allowed & (j < Lk - Lq + i)
        else:
            allowed = allowed & (j <= Lk - Lq + i)
    return allowed


def oracle(sd, num_heads, query, key, value, key_padding_mask=None, causal=False, dtype=F64, mha=None):
    """(out, weights [B, H, Lq, Lk]) of torch's module in ``dtype``.

    A fully masked query is run unmasked by torch (which would give nan), then its weights
    are zeroed and its output replaced by out_proj(0) = out_proj.bias (or 0)."""
    mha = torch_mha(sd, num_heads, dtype) if mha is None else mha
    B, Lq, Lk = query.shape[0], query.shape[1], key.shape[1]
    allowed = allowed_mask(B, Lq, Lk, key_padding_mask, causal)
    has_key = allowed.any(dim=-1)  # (B, Lq)
    safe = allowed | ~has_key[..., None]
    attn_mask = None if safe.all() else (~safe).repeat_interleave(num_heads, dim=0)  # (B*H, Lq, Lk), True = blocked
    q, k, v = (x if x.dtype == dtype else x.to(dtype) for x in (query, key, value))
    out, weights = mha(q, k, v, attn_mask=attn_mask, need_weights=True, average_attn_weights=False)
    weights = weights * has_key[:, None, :, None].to(dtype)
    fill = mha.out_proj.bias if mha.out_proj.bias is not None else torch.zeros(q.shape[-1], dtype=dtype)
    out = torch.where(has_key[..., None], out, fill.expand_as(out))
    return out, weights


# ---------------------------------------------------------------- typical mistakes (diagnosis)

MISTAKES = {
    "scale_d_model": "It matches scores scaled by 1/√d_model: each head scales by 1/√head_dim, "
    "head_dim = d_model / num_heads.",
    "no_scale": "It matches scores that are not scaled: divide by √head_dim.",
    "polarity": "It matches the key_padding_mask with its polarity flipped: True marks PADDING to ignore "
    "(torch's convention), so those keys get weight 0.",
    "split_no_transpose": "It matches heads split without transpose (view(B, H, L, head_dim) directly): split "
    "with view(B, L, H, head_dim).transpose(1, 2).",
    "merge_no_transpose": "It matches heads merged without transpose back (reshape of [B, H, Lq, head_dim] to "
    "[B, Lq, d_model]): transpose(1, 2) before the reshape.",
    "top_left": "It matches a causal mask aligned top-left (key j ≤ i): the queries are the LAST Lq positions, "
    "query i sits at Lk − Lq + i (bottom-right, like causal_mask).",
    "no_diagonal": "It matches a causal mask without the diagonal: a query may attend its own position.",
    "no_out_proj": "It matches an output without out_proj: mix the concatenated heads with out_proj.",
    "v_from_key": "It matches the value projected from the key (v_proj(key)): project the value argument.",
    "after": "It matches masking after the softmax: mask the scores with -inf before it so rows renormalise.",
    "zero_rows": "A fully masked query's output is zero: it should be out_proj(0), i.e. out_proj.bias, since the "
    "zero heads still go through out_proj.",
    "fill": "A fully masked query gets non-zero weights: masked keys seem to get a finite score (like -1e9); "
    "a query with no key left must get all-zero weights and the output out_proj(0).",
    "query_axis": "It matches a softmax over the queries: normalise over the keys (the last dim).",
}
AVERAGED = (
    "The weights are averaged over heads ([B, Lq, Lk]): return the per-head weights [B, H, Lq, Lk] "
    "(torch's average_attn_weights=False)."
)
NAN_ROWS = (
    "Fully masked queries come out nan (a softmax over a row of -inf is nan): give them zero weights and the "
    "output out_proj(0)."
)
IN_PLACE = "The call changes its input(s) in place: compute new tensors instead."


def manual(sd, H, query, key, value, key_padding_mask=None, causal=False, mistake=""):
    """A float64 multi-head attention written out, with one typical mistake."""
    query, key, value = query.double(), key.double(), value.double()
    B, Lq, d = query.shape
    Lk, hd = key.shape[1], d // H

    def lin(name, x):
        out = x @ sd[f"{name}.weight"].T
        return out + sd[f"{name}.bias"] if f"{name}.bias" in sd else out

    def split(x):
        L = x.shape[1]
        return x.reshape(B, H, L, hd) if mistake == "split_no_transpose" else x.view(B, L, H, hd).transpose(1, 2)

    q, k = split(lin("q_proj", query)), split(lin("k_proj", key))
    v = split(lin("v_proj", key if mistake == "v_from_key" else value))
    scale = {"scale_d_model": 1 / math.sqrt(d), "no_scale": 1.0}.get(mistake, 1 / math.sqrt(hd))
    scores = q @ k.transpose(-2, -1) * scale
    align = mistake if mistake in ("top_left", "no_diagonal") else "bottom_right"
    allowed = allowed_mask(B, Lq, Lk, key_padding_mask, causal, polarity=mistake == "polarity", align=align)
    allowed = allowed[:, None]  # (B, 1, Lq, Lk)
    dim = -2 if mistake == "query_axis" else -1
    if mistake == "after":
        w = torch.softmax(scores, dim=-1) * allowed
    elif mistake == "fill":
        w = torch.softmax(scores.masked_fill(~allowed, -1e9), dim=-1)
    else:
        w = torch.nan_to_num(torch.softmax(scores.masked_fill(~allowed, float("-inf")), dim=dim), nan=0.0)
    heads = w @ v
    if mistake == "merge_no_transpose":
        merged = heads.reshape(B, Lq, d)
    else:
        merged = heads.transpose(1, 2).reshape(B, Lq, d)
    out = merged if mistake == "no_out_proj" else lin("out_proj", merged)
    if mistake == "zero_rows":
        out = out * allowed[:, 0].any(-1)[..., None]
    return out, w


def _near(a, b):
    return (
        hasattr(a, "shape")
        and tuple(a.shape) == tuple(b.shape)
        and torch.allclose(a.detach().cpu().double(), b.detach(), rtol=1e-3, atol=1e-4)
    )


def diagnose(got, sd, H, query, key, value, key_padding_mask=None, causal=False):
    """The typical mistake the submission's (out, weights) matches, in the learner's words, or ''."""
    try:
        got_out, got_w = got
    except (TypeError, ValueError):
        return ""
    if not hasattr(got_w, "shape") or not hasattr(got_out, "shape"):
        return ""
    got_out, got_w = got_out.detach().cpu(), got_w.detach().cpu()
    with torch.no_grad():
        want_out, want_w = oracle(sd, H, query, key, value, key_padding_mask, causal)
    B, Lq, Lk = want_w.shape[0], want_w.shape[2], want_w.shape[3]
    if tuple(got_w.shape) == (B, Lq, Lk) and (H == 1 or _near(got_w, want_w.mean(dim=1))):
        return AVERAGED
    if got_w.is_floating_point() and (torch.isnan(got_w).any() or torch.isnan(got_out).any()):
        empty = ~allowed_mask(B, Lq, Lk, key_padding_mask, causal).any(-1)
        if empty.any():
            return NAN_ROWS
    for name, hint in MISTAKES.items():
        wrong_out, wrong_w = manual(sd, H, query, key, value, key_padding_mask, causal, name)
        if _near(wrong_out, want_out) and _near(wrong_w, want_w):
            continue  # this case cannot tell that mistake apart
        if _near(got_out, wrong_out) and _near(got_w, wrong_w):
            return hint
    return ""


# ---------------------------------------------------------------- calling the submission


def new_mha(sub, device, d_model, num_heads, *, bias=True, dtype=F64, seed=0):
    """The learner's module on ``device`` in ``dtype`` holding seeded weights; returns it and the
    weights as it holds them (rounded to ``dtype``), in float64."""
    sd = make_sd(d_model, bias, seed)
    args = f"{d_model}, {num_heads}" + ("" if bias else ", bias=False")
    mha = sub.MultiHeadAttention(d_model, num_heads) if bias else sub.MultiHeadAttention(d_model, num_heads, bias=False)
    mha = mha.to(device=device, dtype=dtype)
    try:
        mha.load_state_dict({k: v.to(dtype) for k, v in sd.items()})
    except RemoteException as exc:
        fail(
            f"MultiHeadAttention({args}) could not load a state dict with keys {sorted(sd)}: {exc.type_name}: "
            f"{exc.remote_message[:300]}. The module needs q_proj, k_proj, v_proj and out_proj, each "
            "nn.Linear(d_model, d_model, bias)."
        )
    return mha, {k: v.to(dtype).double() for k, v in sd.items()}


def attend(mha, *args, what="mha(query, key, value)", **kwargs):
    __tracebackhide__ = True
    got = mha(*args, **kwargs)
    check(
        isinstance(got, (tuple, list)) and len(got) == 2,
        f"{what} should return a tuple (out, weights), got {type(got).__name__}.",
    )
    return tuple(got)


def check_mha(
    got,
    sd,
    H,
    query,
    key,
    value,
    key_padding_mask=None,
    causal=False,
    *,
    device,
    dtype=F64,
    seed=None,
    atol=None,
    rtol=None,
    what="mha(query, key, value)",
):
    __tracebackhide__ = True
    with torch.no_grad():
        want_out, want_w = oracle(sd, H, query, key, value, key_padding_mask, causal)
    inputs = describe(
        query=query,
        key=key,
        value=value,
        **({"key_padding_mask": key_padding_mask} if key_padding_mask is not None else {}),
    )
    inputs += f", num_heads={H}, causal={causal}, bias={'q_proj.bias' in sd}"
    why = lazy(diagnose, got, sd, H, query, key, value, key_padding_mask, causal)
    out, weights = got
    for name, value_, want in (("the weights", weights, want_w), ("the output", out, want_out)):
        check_close(
            value_,
            want.to(dtype),
            what=f"{what}: {name}",
            kind="reduction",
            inputs=inputs,
            seed=seed,
            diagnosis=why,
            device=device,
            atol=atol,
            rtol=rtol,
        )


def qkv(B, Lq, Lk, d, seed, dtype=F64, scale=1.0):
    return (
        randn(B, Lq, d, seed=seed, dtype=dtype, scale=scale),
        randn(B, Lk, d, seed=seed + 1, dtype=dtype, scale=scale),
        randn(B, Lk, d, seed=seed + 2, dtype=dtype, scale=scale),
    )


def padding(B, Lk, seed, p=0.3):
    gen = torch.Generator().manual_seed(seed)
    pad = torch.rand(B, Lk, generator=gen) < p
    pad[:, 0] = False  # every batch keeps a key unless a test says otherwise
    return pad


# ---------------------------------------------------------------- parameters


@public
def test_parameters(sub):
    """MultiHeadAttention(8, 2) has q_proj, k_proj, v_proj, out_proj: weights [8, 8], biases [8]"""
    sd = sub.MultiHeadAttention(8, 2).state_dict()
    want = {f"{n}.{p}": [8, 8] if p == "weight" else [8] for n in PROJ for p in ("weight", "bias")}
    got = {name: list(getattr(value, "shape", [])) for name, value in sd.items()}
    check(got == want, f"MultiHeadAttention(8, 2) should have the parameters {want}, got {got}")
    names = sorted(sub.MultiHeadAttention(8, 2, bias=False).state_dict())
    check(
        names == sorted(f"{n}.weight" for n in PROJ),
        f"MultiHeadAttention(8, 2, bias=False) should have only the four weights, got {names}",
        diagnosis="bias=False is ignored: pass bias to every nn.Linear." if len(names) == 8 else "",
    )


# ---------------------------------------------------------------- values


@public
def test_self_attention_matches_torch(sub, device):
    """Self-attention (query = key = value), d_model 8, 2 heads, float64, against torch's module"""
    mha, sd = new_mha(sub, device, 8, 2, seed=1)
    x = randn(2, 5, 8, seed=2, dtype=F64)
    check_mha(attend(mha, x, x, x), sd, 2, x, x, x, device=device, seed=1)


@pytest.mark.parametrize(
    "B, Lq, Lk, d, H",
    [(2, 3, 6, 8, 2), (1, 4, 4, 6, 3), (3, 2, 5, 4, 1), (2, 3, 3, 4, 4), (1, 1, 1, 2, 2)],
    ids=["cross", "three_heads", "one_head", "head_dim_1", "single_token"],
)
def test_cross_attention_shapes(sub, device, B, Lq, Lk, d, H):
    """Distinct query, key and value, Lq ≠ Lk, one head up to head_dim 1"""
    mha, sd = new_mha(sub, device, d, H, seed=B + Lq + d)
    q, k, v = qkv(B, Lq, Lk, d, seed=10 + d, scale=2.0)
    check_mha(attend(mha, q, k, v), sd, H, q, k, v, device=device, seed=10 + d)


def test_key_padding_mask(sub, device):
    """key_padding_mask [B, Lk], True = padding: those keys get weight 0 in every head"""
    mha, sd = new_mha(sub, device, 8, 2, seed=20)
    q, k, v = qkv(3, 4, 6, 8, seed=21)
    pad = padding(3, 6, seed=22, p=0.4)
    pad[1, 3:] = True
    check_mha(attend(mha, q, k, v, key_padding_mask=pad), sd, 2, q, k, v, pad, device=device, seed=20)


def test_causal_square(sub, device):
    """causal=True with Lq = Lk: the usual lower-triangular mask"""
    mha, sd = new_mha(sub, device, 8, 4, seed=30)
    x = randn(2, 5, 8, seed=31, dtype=F64)
    check_mha(attend(mha, x, x, x, causal=True), sd, 4, x, x, x, None, True, device=device, seed=30)


def test_causal_bottom_right(sub, device):
    """causal=True with Lq < Lk: query i sits at position Lk − Lq + i (a decode step over a cache)"""
    mha, sd = new_mha(sub, device, 6, 2, seed=40)
    q, k, v = qkv(2, 3, 7, 6, seed=41)
    check_mha(attend(mha, q, k, v, causal=True), sd, 2, q, k, v, None, True, device=device, seed=40)


def test_causal_with_padding(sub, device):
    """causal=True and a key_padding_mask together"""
    mha, sd = new_mha(sub, device, 8, 2, seed=50)
    q, k, v = qkv(3, 4, 6, 8, seed=51)
    pad = padding(3, 6, seed=52)
    check_mha(
        attend(mha, q, k, v, key_padding_mask=pad, causal=True), sd, 2, q, k, v, pad, True, device=device, seed=50
    )


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_fully_masked_query(sub, device, bias):
    """A query with every key masked: zero weights in every head and the output out_proj(0), never nan"""
    mha, sd = new_mha(sub, device, 8, 2, bias=bias, seed=60)
    q, k, v = qkv(2, 3, 5, 8, seed=61)
    pad = torch.zeros(2, 5, dtype=torch.bool)
    pad[1, :] = True  # batch 1: every key is padding
    pad[0, 0] = True  # with causal and Lk - Lq = 2, batch 0's first query sees keys 0..2 only; key 0 padded
    pad[0, 1:3] = True  # ... and keys 1, 2 too: fully masked
    out, weights = attend(mha, q, k, v, key_padding_mask=pad, causal=True)
    why = lazy(diagnose, (out, weights), sd, 2, q, k, v, pad, True)
    for name, got in (("weights", weights), ("output", out)):
        check(
            hasattr(got, "isnan") and not torch.isnan(got).any(),
            f"the {name} contain nan for fully masked queries (batch 1, and batch 0's first query). "
            f"Inputs: {describe(query=q, key=k, value=v, key_padding_mask=pad)}, causal=True.",
            diagnosis=why,
        )
    check_mha((out, weights), sd, 2, q, k, v, pad, True, device=device, seed=60)


def test_bias_false(sub, device):
    """bias=False: no biases anywhere, against torch's module with bias=False"""
    mha, sd = new_mha(sub, device, 6, 3, bias=False, seed=70)
    q, k, v = qkv(2, 4, 5, 6, seed=71)
    pad = padding(2, 5, seed=72)
    check_mha(attend(mha, q, k, v, key_padding_mask=pad), sd, 3, q, k, v, pad, device=device, seed=70)


def test_float32_module(sub, device):
    """A module left in float32 takes and returns float32 tensors"""
    mha, sd = new_mha(sub, device, 8, 2, dtype=torch.float32, seed=80)
    q, k, v = qkv(2, 4, 6, 8, seed=81, dtype=torch.float32)
    pad = padding(2, 6, seed=82)
    check_mha(
        attend(mha, q, k, v, key_padding_mask=pad), sd, 2, q, k, v, pad, device=device, dtype=torch.float32, seed=80
    )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision(sub, device, dtype):
    """float16/bfloat16 in, the same dtype out, within max(table, 2 × torch's own error in that dtype)"""
    mha, sd = new_mha(sub, device, 32, 4, dtype=dtype, seed=90)
    q, k, v = qkv(2, 12, 16, 32, seed=91, dtype=dtype, scale=2.0)
    pad = padding(2, 16, seed=92)
    got = attend(mha, q, k, v, key_padding_mask=pad, causal=True)
    with torch.no_grad():
        want = oracle(sd, 4, q, k, v, pad, True)
        own = oracle(sd, 4, q, k, v, pad, True, dtype=dtype)
    rtol, atol = tolerance(dtype, "reduction")
    err = max(float((a.double() - b).abs().max()) for a, b in zip(own, want))
    check_mha(got, sd, 4, q, k, v, pad, True, device=device, dtype=dtype, seed=90, rtol=rtol, atol=max(atol, 2 * err))


@settings(
    derandomize=True,
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    report_multiple_bugs=False,
)
@given(
    B=st.integers(1, 3),
    Lq=st.integers(1, 5),
    extra=st.integers(0, 3),
    H=st.sampled_from([1, 2, 3]),
    head_dim=st.integers(1, 3),
    causal=st.booleans(),
    pad=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_random_shapes(sub, B, Lq, extra, H, head_dim, causal, pad, seed):
    """Random sizes, heads, padding (fully masked rows included) and causal masks against torch"""
    d, Lk = H * head_dim, Lq + extra
    mha, sd = new_mha(sub, "cpu", d, H, seed=seed)
    q, k, v = qkv(B, Lq, Lk, d, seed=seed + 1)
    mask = None
    if pad:
        gen = torch.Generator().manual_seed(seed + 4)
        mask = torch.rand(B, Lk, generator=gen) < 0.4
    got = attend(mha, q, k, v, key_padding_mask=mask, causal=causal)
    check_mha(got, sd, H, q, k, v, mask, causal, device="cpu", seed=seed)


# ---------------------------------------------------------------- gradients


@pytest.mark.parametrize("case", ["plain", "padding_causal", "fully_masked"])
def test_gradients_match_torch(sub, device, case):
    """Gradients of ⟨g_out, out⟩ + ⟨g_w, weights⟩ w.r.t. query, key, value and every parameter, float64"""
    mha, sd = new_mha(sub, device, 8, 2, seed=100)
    q, k, v = qkv(2, 3, 5, 8, seed=101)
    pad, causal = None, case != "plain"
    if case != "plain":
        pad = padding(2, 5, seed=102)
    if case == "fully_masked":
        pad[1, :] = True
    g_out, g_w = randn(2, 3, 8, seed=103, dtype=F64), randn(2, 2, 3, 5, seed=104, dtype=F64)
    result = sub.grad_call(mha, q, k, v, pad, causal, wrt=[0, 1, 2], grad_outputs=(g_out, g_w))

    torch_module = torch_mha(sd, 2)
    leaves = [t.clone().requires_grad_(True) for t in (q, k, v)]
    want_out, want_w = oracle(sd, 2, *leaves, pad, causal, mha=torch_module)
    torch.autograd.backward([want_out, want_w], [g_out, g_w])
    inputs = describe(query=q, key=k, value=v, **({"key_padding_mask": pad} if pad is not None else {}))
    inputs += f", causal={causal}, upstream gradients on out and weights"
    check_mha(result.output, sd, 2, q, k, v, pad, causal, device=device)
    for index, name in enumerate(("query", "key", "value")):
        got = result.input_grads.get(index)
        check(got is not None, f"no gradient reached {name}: is the computation detached from it?")
        check_close(
            got, leaves[index].grad, what=f"the gradient of {name}", kind="grad", inputs=inputs, device=device, seed=100
        )
    d = 8
    want = {"out_proj.weight": torch_module.out_proj.weight.grad, "out_proj.bias": torch_module.out_proj.bias.grad}
    for i, n in enumerate(PROJ[:3]):
        want[f"{n}.weight"] = torch_module.in_proj_weight.grad[i * d : (i + 1) * d]
        want[f"{n}.bias"] = torch_module.in_proj_bias.grad[i * d : (i + 1) * d]  # k_proj.bias: exactly 0
    check_param_grads(result, want, inputs=inputs, device=device, seed=100)


# ---------------------------------------------------------------- hygiene and errors


def test_inputs_not_modified(sub):
    """query, key, value and the mask are left unchanged"""
    mha, _ = new_mha(sub, "cpu", 8, 2, seed=110)
    q, k, v = qkv(2, 3, 5, 8, seed=111)
    pad = padding(2, 5, seed=112)
    attend(mha, q, k, v, key_padding_mask=pad, causal=True)
    with diagnosing(IN_PLACE):
        check_unchanged_inputs(sub)


UNCHECKED = "The shapes are not checked: compare them before computing and raise ValueError saying what is wrong."


def expect_value_error(fn, *args, call, diagnosis, **kwargs):
    """``fn(*args, **kwargs)`` must raise ValueError. ``diagnosis`` is given when the call returned
    normally or failed with torch's own error (RuntimeError, IndexError): the check is missing."""
    __tracebackhide__ = True
    try:
        value = fn(*args, **kwargs)
    except ValueError:
        return
    except RemoteException as exc:
        torch_error = exc.type_name in ("RuntimeError", "IndexError")
        fail(
            f"{call} should raise ValueError, but it raised {exc.type_name}: {exc.remote_message[:200]}",
            diagnosis=diagnosis + " (torch's own error is a RuntimeError)" if torch_error else "",
        )
    fail(f"{call} should raise ValueError, but it returned {type(value).__name__}.", diagnosis=diagnosis)


def test_causal_query_longer_than_keys_raises(sub):
    """causal=True with Lq > Lk → ValueError (no bottom-right alignment exists)"""
    mha, _ = new_mha(sub, "cpu", 4, 2, seed=120)
    q, k, v = qkv(1, 5, 3, 4, seed=121)
    expect_value_error(
        mha,
        q,
        k,
        v,
        causal=True,
        call="mha(query [1, 5, 4], key/value [1, 3, 4], causal=True)",
        diagnosis="causal=True with Lq > Lk is not rejected: query i would sit at Lk − Lq + i < 0; raise ValueError.",
    )


def test_d_model_not_divisible_raises(sub):
    """d_model not divisible by num_heads → ValueError"""
    expect_value_error(
        sub.MultiHeadAttention,
        6,
        4,
        call="MultiHeadAttention(6, 4)",
        diagnosis="d_model % num_heads is not checked in __init__: raise ValueError when it is not 0.",
    )


ERRORS = {
    "query_2d": ((3, 4), (1, 5, 4), (1, 5, 4), None, "query is 2-D"),
    "key_wrong_width": ((1, 3, 4), (1, 5, 6), (1, 5, 6), None, "key's last dimension is 6, not d_model = 4"),
    "value_wrong_width": ((1, 3, 4), (1, 5, 4), (1, 5, 2), None, "value's last dimension is 2, not d_model = 4"),
    "kv_lengths": ((1, 3, 4), (1, 5, 4), (1, 6, 4), None, "key has 5 positions but value 6"),
    "batch_sizes": ((2, 3, 4), (1, 5, 4), (1, 5, 4), None, "query's batch is 2 but key's 1"),
    "mask_shape": ((2, 3, 4), (2, 5, 4), (2, 5, 4), (2, 4), "key_padding_mask is [2, 4], not [B, Lk] = [2, 5]"),
    "mask_3d": ((2, 3, 4), (2, 5, 4), (2, 5, 4), (2, 3, 5), "key_padding_mask is [2, 3, 5], not [B, Lk] = [2, 5]"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_invalid_shapes_raise_value_error(sub, case):
    """Inputs not 3-D or not d_model wide, key/value lengths or batch sizes that differ, a bad mask: ValueError"""
    q_shape, k_shape, v_shape, mask_shape, why = ERRORS[case]
    mha, _ = new_mha(sub, "cpu", 4, 2, seed=130)
    q, k, v = (
        randn(*q_shape, seed=131, dtype=F64),
        randn(*k_shape, seed=132, dtype=F64),
        randn(*v_shape, seed=133, dtype=F64),
    )
    mask = None if mask_shape is None else torch.zeros(*mask_shape, dtype=torch.bool)
    expect_value_error(
        mha,
        q,
        k,
        v,
        mask,
        call=f"mha(...) when {why}",
        diagnosis=f"{UNCHECKED} Here {why}.",
    )
