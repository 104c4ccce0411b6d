"""Specs for DecoderBlock: values against torch.nn.TransformerEncoderLayer(norm_first=True,
activation="gelu") with a causal mask, in float64 and holding the same weights (fc1 large
enough that the tanh GELU is caught), causality by perturbing later inputs, no dropout,
float32, input and parameter gradients, the parameters' names, hygiene and errors."""

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
    describe_value,
    diagnosing,
    expect_raises,
    fail,
    lazy,
    public,
    randn,
)

F64 = torch.float64
PROJ = ("q_proj", "k_proj", "v_proj", "out_proj")

# ---------------------------------------------------------------- weights and the oracle


def make_sd(d_model, d_ff, seed=0, fc1_scale=1.0):
    """A seeded float64 state dict in the learner's names. ``fc1_scale`` sets the standard
    deviation of fc1's pre-activations (about fc1_scale, since ln2's output has unit variance)."""
    gen = iter(range(seed * 100, seed * 100 + 100))

    def r(*shape, scale):
        return randn(*shape, seed=next(gen), dtype=F64, scale=scale)

    sd = {}
    for ln in ("ln1", "ln2"):
        sd[f"{ln}.weight"] = 1.0 + r(d_model, scale=0.2)
        sd[f"{ln}.bias"] = r(d_model, scale=0.1)
    for name in PROJ:
        sd[f"attn.{name}.weight"] = r(d_model, d_model, scale=1 / math.sqrt(d_model))
        sd[f"attn.{name}.bias"] = r(d_model, scale=0.2)
    sd["fc1.weight"] = r(d_ff, d_model, scale=fc1_scale / math.sqrt(d_model))
    sd["fc1.bias"] = r(d_ff, scale=0.2)
    sd["fc2.weight"] = r(d_model, d_ff, scale=1 / math.sqrt(d_ff))
    sd["fc2.bias"] = r(d_model, scale=0.2)
    return sd


def torch_layer(sd, num_heads):
    """torch.nn.TransformerEncoderLayer in float64 computing exactly this block (pre-LN, exact
    GELU, no dropout) with the weights ``sd``."""
    d_model, d_ff = sd["fc1.weight"].shape[1], sd["fc1.weight"].shape[0]
    layer = nn.TransformerEncoderLayer(
        d_model,
        num_heads,
        d_ff,
        dropout=0.0,
        activation="gelu",
        layer_norm_eps=1e-5,
        batch_first=True,
        norm_first=True,
        dtype=F64,
    )
    state = {
        "self_attn.in_proj_weight": torch.cat([sd[f"attn.{n}.weight"] for n in PROJ[:3]]),
        "self_attn.in_proj_bias": torch.cat([sd[f"attn.{n}.bias"] for n in PROJ[:3]]),
        "self_attn.out_proj.weight": sd["attn.out_proj.weight"],
        "self_attn.out_proj.bias": sd["attn.out_proj.bias"],
        "linear1.weight": sd["fc1.weight"],
        "linear1.bias": sd["fc1.bias"],
        "linear2.weight": sd["fc2.weight"],
        "linear2.bias": sd["fc2.bias"],
        "norm1.weight": sd["ln1.weight"],
        "norm1.bias": sd["ln1.bias"],
        "norm2.weight": sd["ln2.weight"],
        "norm2.bias": sd["ln2.bias"],
    }
    layer.load_state_dict(state)
    return layer


def oracle(sd, num_heads, x, layer=None):
    """The block's output [B, L, d] by torch's layer, float64 on the CPU."""
    layer = torch_layer(sd, num_heads) if layer is None else layer
    L = x.shape[1]
    mask = torch.triu(torch.ones(L, L, dtype=torch.bool), diagonal=1)  # True = may not attend
    return layer(x.to(F64), src_mask=mask, is_causal=True)


def torch_param_grads(layer, d_model):
    """The gradients held by ``layer`` after a backward, in the learner's names."""
    sa = layer.self_attn
    want = {
        "ln1.weight": layer.norm1.weight.grad,
        "ln1.bias": layer.norm1.bias.grad,
        "ln2.weight": layer.norm2.weight.grad,
        "ln2.bias": layer.norm2.bias.grad,
        "attn.out_proj.weight": sa.out_proj.weight.grad,
        "attn.out_proj.bias": sa.out_proj.bias.grad,
        "fc1.weight": layer.linear1.weight.grad,
        "fc1.bias": layer.linear1.bias.grad,
        "fc2.weight": layer.linear2.weight.grad,
        "fc2.bias": layer.linear2.bias.grad,
    }
    for i, n in enumerate(PROJ[:3]):
        want[f"attn.{n}.weight"] = sa.in_proj_weight.grad[i * d_model : (i + 1) * d_model]
        want[f"attn.{n}.bias"] = sa.in_proj_bias.grad[i * d_model : (i + 1) * d_model]  # k_proj.bias: exactly 0
    return want


# ---------------------------------------------------------------- typical mistakes (diagnosis)

MISTAKES = {
    "post_ln": "It matches a post-LN block (LayerNorm after each residual sum: ln1(x + attn(x)), then "
    "ln2(h + mlp(h))): this block is pre-LN, h = x + attn(ln1(x)) and out = h + mlp(ln2(h)).",
    "tanh_gelu": "It matches the tanh approximation of GELU (approximate='tanh', GPT-2's original code): use the "
    "exact GELU, x·Φ(x) = 0.5·x·(1 + erf(x/√2)), i.e. F.gelu(x) without approximate.",
    "relu": "It matches ReLU in the MLP: the activation is the exact (erf) GELU.",
    "no_causal": "It matches attention with no causal mask: call attn(a, a, a, causal=True) so that position t "
    "attends positions ≤ t only.",
    "no_mlp_residual": "It matches an MLP without its residual (out = mlp(ln2(h))): add it to the stream, "
    "out = h + fc2(gelu(fc1(ln2(h)))).",
    "no_attn_residual": "It matches attention without its residual (h = attn(ln1(x))): add it to the stream, "
    "h = x + attn(ln1(x)).",
    "ln2_on_input": "It matches ln2 applied to the block input x (h + mlp(ln2(x))): the MLP reads the stream after "
    "attention, ln2(h).",
    "shared_ln": "It matches ln1 used for both sub-layers: the MLP's input is ln2(h), with ln2's own weight and bias.",
    "no_ln2": "It matches an MLP that reads h without ln2 (h + mlp(h)): normalise first, h + mlp(ln2(h)).",
    "no_ln1": "It matches attention that reads x without ln1 (x + attn(x)): normalise first, x + attn(ln1(x)).",
    "scale_d_model": "It matches attention scores scaled by 1/√d_model: each head scales by 1/√head_dim, "
    "head_dim = d_model / num_heads.",
    "split_no_transpose": "It matches heads split without transpose (view(B, H, L, head_dim) directly): split "
    "with view(B, L, H, head_dim).transpose(1, 2).",
    "merge_no_transpose": "It matches heads merged without transpose back (reshape of [B, H, L, head_dim] to "
    "[B, L, d_model]): transpose(1, 2) before the reshape.",
    "no_diagonal": "It matches a causal mask without the diagonal: position t attends positions ≤ t, itself included.",
    "unbiased_var": "It matches a LayerNorm with the unbiased variance (divided by d − 1, torch.var's default): "
    "LayerNorm divides by d (unbiased=False), as nn.LayerNorm does.",
    "eps_outside": "It matches a LayerNorm that adds eps to the standard deviation, (x − μ)/(σ + eps): eps goes "
    "inside the square root, (x − μ)/√(σ² + eps).",
}
EPS_VARIANTS = (1e-6, 1e-8, 1e-12, 0.0, 1e-3, 1e-4)
DROPOUT = (
    "Two calls on the same input in train() mode give different outputs: the block has dropout (or other "
    "randomness); this block has no dropout."
)
TUPLE = "attn(...) returns a tuple (out, weights): keep the output only, h = x + attn(a, a, a, causal=True)[0]."
IN_PLACE = "The call changes its input in place: compute new tensors instead (x + ..., not x += ...)."


def layer_norm(x, weight, bias, eps=1e-5, mistake=""):
    mu = x.mean(-1, keepdim=True)
    var = x.var(-1, keepdim=True, unbiased=mistake == "unbiased_var")
    if mistake == "eps_outside":
        return (x - mu) / (var.sqrt() + eps) * weight + bias
    return (x - mu) / torch.sqrt(var + eps) * weight + bias


def manual(sd, H, x, mistake="", eps=1e-5):
    """The block written out in float64, with one typical mistake (or none)."""
    x = x.double()
    B, L, d = x.shape
    hd = d // H

    def ln(name, t):
        return layer_norm(t, sd[f"{name}.weight"], sd[f"{name}.bias"], eps, mistake)

    def lin(name, t):
        return t @ sd[f"{name}.weight"].T + sd[f"{name}.bias"]

    def split(t):
        return t.reshape(B, H, L, hd) if mistake == "split_no_transpose" else t.view(B, L, H, hd).transpose(1, 2)

    def attn(a):
        q, k, v = (split(lin(f"attn.{n}", a)) for n in PROJ[:3])
        scale = 1 / math.sqrt(d if mistake == "scale_d_model" else hd)
        scores = q @ k.transpose(-2, -1) * scale  # (B, H, L, L)
        i, j = torch.arange(L)[:, None], torch.arange(L)[None, :]
        allowed = (j < i) if mistake == "no_diagonal" else (j <= i)
        if mistake != "no_causal":
            scores = scores.masked_fill(~allowed, float("-inf"))
        w = torch.nan_to_num(torch.softmax(scores, dim=-1), nan=0.0)
        heads = w @ v  # (B, H, L, hd)
        merged = heads.reshape(B, L, d) if mistake == "merge_no_transpose" else heads.transpose(1, 2).reshape(B, L, d)
        return lin("attn.out_proj", merged)

    def act(t):
        if mistake == "relu":
            return torch.relu(t)
        return nn.functional.gelu(t, approximate="tanh" if mistake == "tanh_gelu" else "none")

    def mlp(t):
        return lin("fc2", act(lin("fc1", t)))

    if mistake == "post_ln":
        h = ln("ln1", x + attn(x))
        return ln("ln2", h + mlp(h))
    a = x if mistake == "no_ln1" else ln("ln1", x)
    h = attn(a) if mistake == "no_attn_residual" else x + attn(a)
    m_in = {"ln2_on_input": ln("ln2", x), "shared_ln": ln("ln1", h), "no_ln2": h}.get(mistake, None)
    m = mlp(ln("ln2", h) if m_in is None else m_in)
    return m if mistake == "no_mlp_residual" else h + m


def _err(a, b):
    return float((a.detach().cpu().double() - b.detach().cpu().double()).abs().max())


def diagnose(got, sd, H, x):
    """The typical mistake the block's output ``got`` matches, in the learner's words, or ''.

    A variant is named only when the answer is at least ten times nearer to it than to
    the right one (and the case tells them apart)."""
    if not hasattr(got, "shape") or not getattr(got, "is_floating_point", lambda: False)():
        return ""
    with torch.no_grad():
        want = oracle(sd, H, x)
        if tuple(got.shape) != tuple(want.shape) or torch.isnan(got).any():
            return ""
        off = _err(got, want)
        variants = [(MISTAKES[name], lambda name=name: manual(sd, H, x, name)) for name in MISTAKES]
        variants += [
            (
                f"It matches LayerNorm with eps = {eps:g}: the block's LayerNorms use eps = 1e-5 (nn.LayerNorm's "
                "default).",
                lambda eps=eps: manual(sd, H, x, eps=eps),
            )
            for eps in EPS_VARIANTS
        ]
        for hint, compute in variants:
            wrong = compute()
            if _err(wrong, want) < 1e-9:
                continue  # this case cannot tell that mistake apart
            if _err(got, wrong) < 0.1 * off:
                return hint
    return ""


# ---------------------------------------------------------------- calling the submission


def new_block(sub, device, d_model, num_heads, d_ff, *, dtype=F64, seed=0, fc1_scale=1.0):
    """The learner's block on ``device`` in ``dtype`` holding seeded weights; returns it and
    the weights as it holds them (rounded to ``dtype``), in float64."""
    sd = make_sd(d_model, d_ff, seed, fc1_scale)
    block = sub.DecoderBlock(d_model, num_heads, d_ff).to(device=device, dtype=dtype)
    try:
        block.load_state_dict({k: v.to(dtype) for k, v in sd.items()})
    except RemoteException as exc:
        fail(
            f"DecoderBlock({d_model}, {num_heads}, {d_ff}) could not load a state dict with keys {sorted(sd)}: "
            f"{exc.type_name}: {exc.remote_message[:300]}. The block needs ln1, ln2 (nn.LayerNorm), attn "
            "(MultiHeadAttention with q_proj, k_proj, v_proj, out_proj), fc1 and fc2, every Linear with a bias."
        )
    return block, {k: v.to(dtype).double() for k, v in sd.items()}


def run(block, x):
    """block(x), with the mistake named when it raised because attn's tuple was used as a tensor."""
    __tracebackhide__ = True
    try:
        return block(x)
    except RemoteException as exc:
        if not getattr(exc, "diagnosis", "") and "tuple" in exc.remote_message:
            exc.diagnosis = TUPLE
        raise


def check_block(got, sd, H, x, *, device, dtype=F64, seed=None, what="block(x)"):
    __tracebackhide__ = True
    with torch.no_grad():
        want = oracle(sd, H, x)
    inputs = describe(x=x) + f", num_heads={H}, d_ff={sd['fc1.weight'].shape[0]}"
    check_close(
        got,
        want.to(dtype),
        what=what,
        kind="model",
        inputs=inputs,
        seed=seed,
        device=device,
        diagnosis=lazy(diagnose, got, sd, H, x),
    )


# ---------------------------------------------------------------- structure


def expected_shapes(d, d_ff):
    shapes = {f"{ln}.{p}": [d] for ln in ("ln1", "ln2") for p in ("weight", "bias")}
    shapes.update({f"attn.{n}.{p}": [d, d] if p == "weight" else [d] for n in PROJ for p in ("weight", "bias")})
    shapes.update({"fc1.weight": [d_ff, d], "fc1.bias": [d_ff], "fc2.weight": [d, d_ff], "fc2.bias": [d]})
    return shapes


@public
def test_parameters(sub):
    """DecoderBlock(8, 2, 32) has ln1, ln2, attn.{q,k,v,out}_proj, fc1 [32, 8] and fc2 [8, 32], all with biases"""
    sd = sub.DecoderBlock(8, 2, 32).state_dict()
    want = expected_shapes(8, 32)
    got = {name: list(getattr(value, "shape", [])) for name, value in sd.items()}
    missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
    wrong = sorted(n for n in set(want) & set(got) if want[n] != got[n])
    diagnosis = ""
    if any(n.endswith(".bias") for n in missing):
        diagnosis = "Some biases are missing: every nn.Linear and both LayerNorms of the block have a bias."
    elif "fc1.weight" in wrong and got["fc1.weight"] == [4 * 8, 8]:
        diagnosis = "fc1 is 4·d_model wide whatever d_ff is: make it nn.Linear(d_model, d_ff)."
    check(
        not missing and not extra and not wrong,
        f"DecoderBlock(8, 2, 32)'s state dict should hold {want}; missing {missing}, unexpected {extra}, "
        f"wrong shapes {[f'{n}: {got[n]}' for n in wrong]}.",
        diagnosis=diagnosis,
    )


# ---------------------------------------------------------------- values


@public
def test_matches_torch(sub, device):
    """d_model 8, 2 heads, d_ff 32, float64, against torch's TransformerEncoderLayer(norm_first=True, gelu)"""
    block, sd = new_block(sub, device, 8, 2, 32, seed=1, fc1_scale=2.0)
    x = randn(2, 6, 8, seed=2, dtype=F64)
    check_block(run(block, x), sd, 2, x, device=device, seed=1)


def test_exact_gelu(sub, device):
    """fc1's pre-activations reach |x| ≈ 2–4, where the tanh GELU is ~5e-4 off the exact one"""
    block, sd = new_block(sub, device, 8, 2, 16, seed=3, fc1_scale=3.0)
    x = randn(2, 5, 8, seed=4, dtype=F64)
    check_block(run(block, x), sd, 2, x, device=device, seed=3)


@pytest.mark.parametrize(
    "B, L, d, H, d_ff",
    [(1, 1, 4, 2, 8), (3, 4, 6, 3, 12), (2, 7, 4, 1, 16), (1, 5, 4, 4, 3)],
    ids=["single_token", "three_heads", "one_head", "head_dim_1_narrow_mlp"],
)
def test_shapes(sub, device, B, L, d, H, d_ff):
    """One token, one to four heads, head_dim 1, an MLP narrower than d_model"""
    block, sd = new_block(sub, device, d, H, d_ff, seed=10 + L, fc1_scale=2.0)
    x = randn(B, L, d, seed=20 + L, dtype=F64, scale=1.5)
    check_block(run(block, x), sd, H, x, device=device, seed=10 + L)


def test_small_inputs(sub, device):
    """Inputs of scale 0.03, where LayerNorm's eps (1e-5) matters"""
    block, sd = new_block(sub, device, 8, 2, 16, seed=30)
    x = randn(2, 4, 8, seed=31, dtype=F64, scale=0.03)
    check_block(run(block, x), sd, 2, x, device=device, seed=30)


def test_float32(sub, device):
    """A block left in float32 takes and returns float32 (tolerance 1e-4)"""
    block, sd = new_block(sub, device, 16, 4, 64, dtype=torch.float32, seed=40, fc1_scale=2.0)
    x = randn(2, 8, 16, seed=41, dtype=torch.float32)
    check_block(run(block, x), sd, 4, x, device=device, dtype=torch.float32, seed=40)


@settings(
    derandomize=True,
    max_examples=10,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    report_multiple_bugs=False,
)
@given(
    B=st.integers(1, 3),
    L=st.integers(1, 6),
    H=st.sampled_from([1, 2, 3]),
    head_dim=st.integers(1, 3),
    d_ff=st.integers(1, 12),
    seed=st.integers(0, 10_000),
)
def test_random_shapes(sub, B, L, H, head_dim, d_ff, seed):
    """Random sizes, heads and MLP widths against torch's layer"""
    d = H * head_dim
    block, sd = new_block(sub, "cpu", d, H, d_ff, seed=seed % 97, fc1_scale=2.0)
    x = randn(B, L, d, seed=seed, dtype=F64)
    check_block(run(block, x), sd, H, x, device="cpu", seed=seed)


def test_attn_is_the_multi_head_attention(sub, device):
    """block.attn(a, a, a, causal=True) returns (out, per-head weights) as torch's MultiheadAttention"""
    block, sd = new_block(sub, device, 8, 2, 16, seed=45)
    a = randn(2, 5, 8, seed=46, dtype=F64)
    got = block.attn(a, a, a, causal=True)
    check(
        isinstance(got, (tuple, list)) and len(got) == 2,
        f"block.attn(a, a, a, causal=True) should return a tuple (out, weights), got {describe_value(got)}.",
    )
    mha = torch_layer(sd, 2).self_attn
    mask = torch.triu(torch.ones(5, 5, dtype=torch.bool), diagonal=1)
    with torch.no_grad():
        want_out, want_w = mha(a, a, a, attn_mask=mask, need_weights=True, average_attn_weights=False)
    inputs = describe(query=a, key=a, value=a) + ", num_heads=2, causal=True"
    check_close(
        got[1],
        want_w,
        what="block.attn(a, a, a, causal=True)[1], the per-head weights",
        kind="reduction",
        inputs=inputs,
        device=device,
        seed=45,
    )
    check_close(
        got[0],
        want_out,
        what="block.attn(a, a, a, causal=True)[0], the output",
        kind="reduction",
        inputs=inputs,
        device=device,
        seed=45,
    )


# ---------------------------------------------------------------- causality and no dropout


@public
def test_causal(sub, device):
    """The output at position t does not change when inputs after t change"""
    block, sd = new_block(sub, device, 8, 2, 16, seed=50, fc1_scale=2.0)
    x = randn(2, 6, 8, seed=51, dtype=F64)
    base = run(block, x)
    for t in (0, 2, 4):
        changed = x.clone()
        changed[:, t + 1 :] += randn(2, 5 - t, 8, seed=52 + t, dtype=F64, scale=3.0)
        got = run(block, changed)
        check(
            hasattr(got, "shape") and tuple(got.shape) == tuple(x.shape),
            f"block(x) should return a tensor [2, 6, 8], got {getattr(got, 'shape', type(got).__name__)}.",
        )
        err = _err(got[:, : t + 1], base[:, : t + 1])
        check(
            err <= 1e-10,
            f"block(x) at positions 0..{t} changed by up to {err:.3g} when only x[:, {t + 1}:] changed: the output "
            f"at position t must depend on x[:, :t + 1] only. Inputs: {describe(x=x)}, num_heads=2. Seed 50.",
            diagnosis=lazy(diagnose, base, sd, 2, x),
        )


def test_no_dropout(sub):
    """Two calls in train() mode on the same input give the same output (no dropout)"""
    block, _ = new_block(sub, "cpu", 8, 2, 32, seed=60)
    block.train()
    x = randn(2, 5, 8, seed=61, dtype=F64)
    first, second = run(block, x), run(block, x)
    err = _err(first, second)
    check(
        err == 0.0,
        f"two calls block(x) in train() mode differ by up to {err:.3g}. Inputs: {describe(x=x)}, num_heads=2.",
        diagnosis=DROPOUT,
    )


# ---------------------------------------------------------------- gradients


def test_gradients_match_torch(sub, device):
    """Gradients of ⟨g, block(x)⟩ w.r.t. x and every parameter against torch's layer, float64"""
    block, sd = new_block(sub, device, 8, 2, 16, seed=70, fc1_scale=2.0)
    x = randn(2, 5, 8, seed=71, dtype=F64)
    g = randn(2, 5, 8, seed=72, dtype=F64)
    result = sub.grad_call(block, x, wrt=[0], grad_outputs=g)
    layer = torch_layer(sd, 2)
    leaf = x.clone().requires_grad_(True)
    oracle(sd, 2, leaf, layer=layer).backward(g)
    inputs = describe(x=x) + ", num_heads=2, d_ff=16, upstream gradient g on the output"
    check_block(result.output, sd, 2, x, device=device, seed=70)
    got = result.input_grads.get(0)
    check(got is not None, "no gradient reached x: is the computation detached from it?")
    check_close(got, leaf.grad, what="the gradient of x", kind="grad", inputs=inputs, device=device, seed=70)
    check_param_grads(result, torch_param_grads(layer, 8), inputs=inputs, device=device, seed=70)


# ---------------------------------------------------------------- hygiene and errors


def test_input_not_modified(sub):
    """x is left unchanged"""
    block, _ = new_block(sub, "cpu", 8, 2, 16, seed=80)
    block(randn(2, 4, 8, seed=81, dtype=F64))
    with diagnosing(IN_PLACE):
        check_unchanged_inputs(sub, ["x"])


UNCHECKED = (
    "x's shape is not checked before ln1: check x.dim() == 3 and x.shape[-1] == d_model first and raise "
    "ValueError (LayerNorm's and matmul's own errors are RuntimeErrors)."
)


@pytest.mark.parametrize(
    "shape, why",
    [((5, 8), "x is 2-D [5, 8]"), ((2, 5, 6), "x is [2, 5, 6]: its last dimension is not d_model = 8")],
    ids=["2d", "wrong_width"],
)
def test_invalid_input_raises(sub, shape, why):
    """x not 3-D, or its last dimension not d_model → ValueError"""
    block, _ = new_block(sub, "cpu", 8, 2, 16, seed=90)
    expect_raises(
        ValueError, block, randn(*shape, seed=91, dtype=F64), call=f"block(x) when {why}", diagnosis=UNCHECKED
    )


def test_d_model_not_divisible_raises(sub):
    """DecoderBlock(6, 4, 12) → ValueError (6 is not a multiple of 4 heads)"""
    expect_raises(
        ValueError,
        sub.DecoderBlock,
        6,
        4,
        12,
        call="DecoderBlock(6, 4, 12)",
        diagnosis="d_model % num_heads is not checked: MultiHeadAttention's __init__ raises ValueError.",
    )


def test_d_ff_required(sub):
    """DecoderBlock(8, 2) without d_ff → TypeError (d_ff has no default)"""
    sub.DecoderBlock(8, 2, 16)  # the block can be built at all
    expect_raises(
        TypeError,
        sub.DecoderBlock,
        8,
        2,
        call="DecoderBlock(8, 2)",
        diagnosis="d_ff has a default: it is a required argument, DecoderBlock(d_model, num_heads, d_ff).",
    )
