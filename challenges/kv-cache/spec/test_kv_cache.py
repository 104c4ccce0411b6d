"""Specs for CachedCausalSelfAttention: a sequence fed in pieces (one token at a time,
several at once, prompt then steps) gives the outputs of one causal pass of torch's own
multi-head attention in float64 with the same weights; the cache holds the keys and values
of every position seen; the passed cache is left alone; a step projects only its new
tokens; dtypes, devices, gradients and hygiene.

The weights are fixed by installing trusted `RecordingLinear` layers (grader/fixtures) as
the module's ``qkv`` and ``proj``: they hold seeded weights the judge knows and record the
shapes they are fed. One test uses the learner's own layers instead.
"""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from grader.spec import (
    RemoteException,
    check,
    check_close,
    describe,
    fail,
    lazy,
    public,
    randn,
    remote_meta,
    time_limit,
)

F64 = torch.float64

# ---------------------------------------------------------------- weights and oracle


def make_weights(d_model, seed):
    """Seeded float64 weights: qkv_w [3d, d], qkv_b [3d], proj_w [d, d], proj_b [d].

    With inputs of unit variance, q and k have entries of variance ~1.4, so the attention
    weights are far from uniform and every typical mistake moves the output visibly."""
    gen = torch.Generator().manual_seed(seed)

    def draw(*shape, scale):
        return torch.randn(*shape, generator=gen, dtype=F64) * scale

    return {
        "qkv_w": draw(3 * d_model, d_model, scale=1.2 / math.sqrt(d_model)),
        "qkv_b": draw(3 * d_model, scale=0.3),
        "proj_w": draw(d_model, d_model, scale=1.0 / math.sqrt(d_model)),
        "proj_b": draw(d_model, scale=0.3),
    }


def oracle(W, x, n_heads):
    """y [B, T, d] of torch's multi-head attention over the whole sequence, causal, float64."""
    x = x.to(F64).transpose(0, 1)  # (T, B, d): torch's functional MHA is sequence-first
    T, _, d = x.shape
    blocked = torch.ones(T, T, dtype=torch.bool).triu(1)  # True = may NOT attend (torch's convention)
    y, _ = F.multi_head_attention_forward(
        x, x, x, d, n_heads, W["qkv_w"], W["qkv_b"], None, None, False, 0.0, W["proj_w"], W["proj_b"],
        training=False, need_weights=False, attn_mask=blocked,
    )  # fmt: skip
    return y.transpose(0, 1)  # (B, T, d)


def expected_kv(W, x, n_heads):
    """The keys and values of every position of x [B, T, d], as [B, H, T, d_head] float64."""
    B, T, d = x.shape
    _, k, v = (x.to(F64) @ W["qkv_w"].T + W["qkv_b"]).split(d, dim=-1)  # (B, T, d) each
    return tuple(t.view(B, T, n_heads, d // n_heads).transpose(1, 2) for t in (k, v))  # (B, H, T, d_head)


# ---------------------------------------------------------------- typical mistakes (diagnosis)

MISTAKES = {
    "no_mask": "They match attention with no causal mask among the new tokens: new token i may attend the "
    "cached positions and the new tokens up to itself, not the ones after it.",
    "top_left": "They match a causal mask aligned top-left (new token i sees keys 0..i, like torch's "
    "is_causal): after T_past cached positions, new token i sits at position T_past + i and sees keys "
    "0..T_past + i.",
    "scale_d_model": "They match scores scaled by 1/√d_model: scale by 1/√d_head, d_head = d_model / n_heads.",
    "no_transpose": "They match heads split with a reshape to [B, H, T, d_head] and no transpose: head h takes "
    "features h·d_head … (h+1)·d_head − 1 of every token, so view as [B, T, H, d_head], then transpose(1, 2).",
    "qk_swapped": "They match q and k swapped: the qkv output holds q, k, v in that order along the last dim.",
    "new_only_cached": "They match a cache that keeps only the last call's keys and values: the returned cache "
    "must hold every position seen so far (the old cache and the new tokens, concatenated along dim 2).",
    "merge_no_transpose": "They match heads merged with a reshape from [B, H, T, d_head] and no transpose: "
    "transpose(1, 2) back to [B, T, H, d_head] before the reshape to [B, T, d_model].",
    "qkv_per_head": "They match qkv's output split per head (q, k, v of head 0, then of head 1, ...): it holds "
    "all of q, then all of k, then all of v (split(d_model, dim=-1)), and then each is split into heads.",
    "new_first": "They match the new keys and values put before the cached ones: concatenate the cache first, "
    "torch.cat([cache['k'], k], dim=2), so position t stays at index t.",
}


def simulate(W, x, n_heads, pieces, mistake=""):
    """Float64 outputs, one per call, of feeding x in pieces to a cached attention with a mistake."""
    x = x.to(F64)
    B, _, d = x.shape
    H, dh = n_heads, d // n_heads
    scale = 1 / math.sqrt(d if mistake == "scale_d_model" else dh)

    def split(t):  # (B, n, d) -> (B, H, n, dh)
        if mistake in ("no_transpose", "qkv_per_head_split"):
            return t.reshape(B, H, t.shape[1], dh)
        return t.view(B, t.shape[1], H, dh).transpose(1, 2)

    outs, past, start = [], None, 0
    for n in pieces:
        q, k, v = (x[:, start : start + n] @ W["qkv_w"].T + W["qkv_b"]).split(d, dim=-1)  # (B, n, d)
        if mistake == "qkv_per_head":  # [q_h k_h v_h] for each head h in turn
            qkv = torch.cat([q, k, v], dim=-1).view(B, n, H, 3 * dh).split(dh, dim=-1)
            q, k, v = (t.reshape(B, n, d) for t in qkv)
        if mistake == "qk_swapped":
            q, k = k, q
        q, k, v = split(q), split(k), split(v)  # (B, H, n, dh)
        if past is None:
            keys, values = k, v
        elif mistake == "new_first":
            keys, values = torch.cat([k, past[0]], 2), torch.cat([v, past[1]], 2)
        else:
            keys, values = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)
        L = keys.shape[2]
        if mistake == "no_mask":
            allowed = torch.ones(n, L, dtype=torch.bool)
        elif mistake == "top_left":
            allowed = torch.ones(n, L, dtype=torch.bool).tril()
        else:
            allowed = torch.ones(n, L, dtype=torch.bool).tril(diagonal=L - n)
        scores = (q @ keys.transpose(-2, -1) * scale).masked_fill(~allowed, float("-inf"))  # (B, H, n, L)
        o = torch.softmax(scores, dim=-1) @ values  # (B, H, n, dh)
        merge_as_split = mistake in ("no_transpose", "merge_no_transpose")
        o = o.reshape(B, n, d) if merge_as_split else o.transpose(1, 2).reshape(B, n, d)
        outs.append(o @ W["proj_w"].T + W["proj_b"])  # (B, n, d)
        past = (k, v) if mistake == "new_only_cached" else (keys, values)
        start += n
    return outs


def _near(got, want):
    return (
        hasattr(got, "shape") and got.shape == want.shape and torch.allclose(got.double(), want, rtol=1e-3, atol=1e-3)
    )


def diagnose(got_outs, W, x, n_heads, pieces):
    """The typical mistake whose outputs the submission's match, in the learner's words, or ''."""
    if any(getattr(y, "dtype", x.dtype) != x.dtype for y in got_outs):
        return dtype_mistake(next(y for y in got_outs if y.dtype != x.dtype), x.dtype)
    right = simulate(W, x, n_heads, pieces)
    matches = []
    for name, hint in MISTAKES.items():
        wrong = simulate(W, x, n_heads, pieces, name)
        if all(_near(w, r) for w, r in zip(wrong, right)):
            continue  # these pieces cannot tell this mistake apart
        if len(got_outs) == len(wrong) and all(_near(g, w) for g, w in zip(got_outs, wrong)):
            matches.append(hint)
    return matches[0] if len(matches) == 1 else ""  # a case two mistakes explain names neither


def dtype_mistake(got, want):
    """Why a result has the wrong dtype, where the pattern is a known one, or ''."""
    if want == F64 and got.dtype == torch.float32:
        return "A float64 input is computed and returned in float32 (.float()): compute in x's dtype."
    return ""


# ---------------------------------------------------------------- building and calling the module


def build(sub, d_model, n_heads, W, dtype=torch.float32, device="cpu"):
    """The learner's module on ``device`` with trusted RecordingLinear layers holding ``W``.

    Returns (module, qkv_fixture, proj_fixture)."""
    try:
        module = sub.CachedCausalSelfAttention(d_model, n_heads)
    except RemoteException as exc:
        fail(f"CachedCausalSelfAttention({d_model}, {n_heads}) raised {exc.type_name}: {exc.remote_message[:300]}")
    module = module.to(device=device, dtype=dtype)
    qkv = sub.make_fixture("RecordingLinear", W["qkv_w"].to(dtype), W["qkv_b"].to(dtype))
    proj = sub.make_fixture("RecordingLinear", W["proj_w"].to(dtype), W["proj_b"].to(dtype))
    module.qkv = qkv
    module.proj = proj
    return module, qkv, proj


def call(module, x, cache, what, keyword=False):
    """module(x) or module(x, cache); check it returned (y, cache dict with "k" and "v")."""
    __tracebackhide__ = True
    if cache is None:
        got = module(x)
    else:
        got = module(x, cache=cache) if keyword else module(x, cache)
    check(
        isinstance(got, (tuple, list)) and len(got) == 2,
        f"{what} should return a tuple (y, cache), got {type(got).__name__}.",
    )
    y, new_cache = got
    passed = "cache=None" if cache is None else "a cache"
    check(
        isinstance(new_cache, dict) and "k" in new_cache and "v" in new_cache,
        f"{what}, called with {passed}, should return as its cache a dict with keys 'k' and 'v', got "
        f"{type(new_cache).__name__}"
        + (f" with keys {sorted(map(str, new_cache))}" if isinstance(new_cache, dict) else "")
        + ". The returned cache always holds every position seen so far, also on the first call.",
        diagnosis="No cache is returned on the first call: with cache=None, return a dict of the new tokens' "
        "keys and values."
        if cache is None and new_cache is None
        else "",
    )
    for key in ("k", "v"):
        check(
            hasattr(new_cache[key], "shape"),
            f"{what}: cache[{key!r}] should be a tensor, got {type(new_cache[key]).__name__}.",
        )
    return y, new_cache


def schedule(pieces):
    return "+".join(map(str, pieces))


def feed(module, x, pieces, keyword=False):
    """Feed x [B, T, d] in pieces, each call with the cache the previous one returned.

    Returns the outputs and the returned caches, one per call."""
    outs, caches, cache, start = [], [], None, 0
    for i, n in enumerate(pieces):
        what = f"call {i + 1} of {len(pieces)} (tokens {start}..{start + n - 1}, pieces {schedule(pieces)})"
        y, cache = call(module, x[:, start : start + n], cache, what, keyword)
        outs.append(y)
        caches.append(cache)
        start += n
    return outs, caches


def check_outputs(outs, W, x, n_heads, pieces, device="cpu", kind="model", seed=None):
    """Each call's y against the matching rows of one causal pass over the whole sequence."""
    __tracebackhide__ = True
    want = oracle(W, x, n_heads)  # (B, T, d)
    d = x.shape[-1]
    inputs = describe(x=x) + f", d_model={d}, n_heads={n_heads}, pieces {schedule(pieces)}"
    start = 0
    for i, (y, n) in enumerate(zip(outs, pieces)):
        what = f"y of call {i + 1} (tokens {start}..{start + n - 1}, after {start} cached)"
        args = (y, want[:, start : start + n].to(x.dtype))
        options = {"what": what, "kind": kind, "inputs": inputs, "seed": seed, "device": device}
        check_close(
            *args,
            **options,
            hint="Feeding a sequence in pieces must give the outputs of one causal pass over the whole of it.",
            diagnosis=lazy(diagnose, outs, W, x, n_heads, pieces),  # the slow part: only on a failure
        )
        start += n


def cache_hint(got, want_k, q_heads, pieces=()):
    """Why a returned cache["k"] (or "v") looks wrong, where the spec can tell: ``want_k``
    is what it should hold, ``pieces`` the sizes of the calls that filled it."""
    B, H, T, dh = want_k.shape
    shape = list(got.shape)
    if got.shape == want_k.shape and _near(got, want_k / math.sqrt(dh)) and dh > 1:
        return "The cached keys are scaled by 1/√d_head: cache them unscaled and scale the scores."
    if got.shape == want_k.shape and len(pieces) > 1:
        bounds = [0]
        for n in pieces:
            bounds.append(bounds[-1] + n)
        newest_first = torch.cat([want_k[:, :, a:b] for a, b in reversed(list(zip(bounds, bounds[1:])))], dim=2)
        if _near(got, newest_first):
            return (
                "The new keys and values are put before the cached ones: concatenate the cache first, "
                "torch.cat([cache['k'], k], dim=2), so position t stays at index t."
            )
    if shape == [B, T, H, dh]:
        return "It looks like [B, T, H, d_head]: transpose the heads before the positions."
    if len(shape) == 4 and shape[:2] == [B, H] and shape[3] == dh and shape[2] < T:
        return f"It holds {shape[2]} positions: concatenate the old cache and the new keys along dim 2."
    if len(shape) == 4 and shape[:2] == [B, H] and shape[3] == dh and shape[2] > T:
        return (
            f"It holds {shape[2]} positions, more than the {T} seen: is a cache kept on the module between "
            "calls? Use only the cache passed in."
        )
    if _near(got, q_heads):
        return "It holds the queries: the qkv output is q, k, v in that order."
    if got.shape == want_k.shape and _near(got, want_k.transpose(1, 2).reshape(B, T, H * dh).reshape(B, H, T, dh)):
        return "Its heads look split by a reshape without a transpose."
    return ""


def check_caches(caches, W, x, n_heads, pieces, device="cpu"):
    """After each call, cache k and v are [B, H, T_seen, d_head] with every position's keys/values."""
    __tracebackhide__ = True
    B, _, d = x.shape
    want_k, want_v = expected_kv(W, x, n_heads)  # (B, H, T, dh)
    q_all = (x.to(F64) @ W["qkv_w"][:d].T + W["qkv_b"][:d]).view(B, -1, n_heads, d // n_heads).transpose(1, 2)
    inputs = describe(x=x) + f", d_model={d}, n_heads={n_heads}, pieces {schedule(pieces)}"
    seen = 0
    for i, (cache, n) in enumerate(zip(caches, pieces)):
        seen += n
        for key, want in (("k", want_k), ("v", want_v)):
            what = f"cache[{key!r}] returned by call {i + 1} (after {seen} positions)"
            got = cache[key]
            shape = [B, n_heads, seen, d // n_heads]
            why = lazy(
                cache_hint,
                got,
                want[:, :, :seen],
                q_all[:, :, :seen] if key == "k" else q_all[:, :, :0],
                pieces[: i + 1],
            )
            if list(got.shape) != shape:
                fail(
                    f"{what} should have shape [B, n_heads, T_seen, d_head] = {shape}, got {list(got.shape)}.",
                    diagnosis=why,
                )
            check_close(
                got,
                want[:, :, :seen].to(x.dtype),
                what=what,
                kind="model",
                inputs=inputs,
                device=device,
                hint=f"cache[{key!r}][b, h, t] is the {'key' if key == 'k' else 'value'} of position t for head h: "
                f"features h·d_head … (h+1)·d_head − 1 of the {key} part of qkv(x), unscaled.",
                diagnosis=why,
            )


def run_and_check(sub, d_model, n_heads, pieces, *, batch=2, seed=0, dtype=torch.float32, device="cpu"):
    """Build, feed x in pieces, and check every call's output and cache."""
    W = make_weights(d_model, seed)
    x = randn(batch, sum(pieces), d_model, seed=seed + 1, dtype=dtype)
    module, _, _ = build(sub, d_model, n_heads, W, dtype, device)
    outs, caches = feed(module, x, pieces)
    check_outputs(outs, W, x, n_heads, pieces, device=device, seed=seed)
    check_caches(caches, W, x, n_heads, pieces, device=device)


# ---------------------------------------------------------------- values


@public
def test_prompt_without_cache(sub, device):
    """A prompt with cache=None equals causal attention"""
    run_and_check(sub, 8, 2, [5], device=device, seed=0)


@public
def test_prompt_then_one_token_at_a_time(sub, device):
    """A 3-token prompt, then 4 steps of one token"""
    run_and_check(sub, 8, 2, [3, 1, 1, 1, 1], device=device, seed=10)


@public
def test_several_new_tokens_after_a_cache(sub, device):
    """3-token steps after a cache: bottom-right mask"""
    run_and_check(sub, 12, 3, [2, 3, 3], device=device, seed=20)


SCHEDULES = {
    "one_token_each_dh5": (1, 5, 1, [1, 1, 1, 1, 1, 1]),
    "mixed_steps_dh5_batch3": (3, 15, 3, [4, 1, 2, 1]),
    "growing_steps_dh3": (2, 12, 4, [1, 2, 3, 4]),
    "whole_sequence_dh7": (2, 14, 2, [7]),
    "odd_pieces_dh3": (1, 9, 3, [2, 1, 1, 3, 1]),
    "two_halves_dh1": (4, 6, 6, [3, 3]),
}


@pytest.mark.parametrize("case", list(SCHEDULES))
def test_piece_schedules(sub, case):
    """Pieces of many sizes, odd head dims, batch 1-4"""
    batch, d_model, n_heads, pieces = SCHEDULES[case]
    run_and_check(sub, d_model, n_heads, pieces, batch=batch, seed=30 + len(case))


def test_float64(sub, device):
    """float64 in, float64 out, to float64 accuracy"""
    run_and_check(sub, 10, 2, [4, 1, 3], dtype=F64, device=device, seed=40)


@time_limit(60)
@settings(
    derandomize=True,
    max_examples=20,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    report_multiple_bugs=False,
)
@given(
    batch=st.integers(1, 3),
    n_heads=st.integers(1, 3),
    d_head=st.integers(1, 5),
    pieces=st.lists(st.integers(1, 4), min_size=1, max_size=4),
    seed=st.integers(0, 10_000),
)
def test_random_shapes_and_pieces(sub, batch, n_heads, d_head, pieces, seed):
    """Random batch, heads, head dims and piece sizes"""
    run_and_check(sub, n_heads * d_head, n_heads, pieces, batch=batch, seed=seed)


def test_own_layers(sub):
    """The module's own qkv and proj layers are used"""
    d_model, n_heads, pieces = 10, 5, [3, 1, 2]
    try:
        module = sub.CachedCausalSelfAttention(d_model, n_heads)
        layers = {name: getattr(module, name) for name in ("qkv", "proj")}
        W = {
            f"{name}_{p}": getattr(layer, "weight" if p == "w" else "bias")
            for name, layer in layers.items()
            for p in "wb"
        }
    except RemoteException as exc:
        fail(
            f"CachedCausalSelfAttention({d_model}, {n_heads}) should have layers qkv and proj (nn.Linear, with "
            f"weight and bias): reading them raised {exc.type_name}: {exc.remote_message[:200]}"
        )
    for key, shape in (("qkv_w", [30, 10]), ("qkv_b", [30]), ("proj_w", [10, 10]), ("proj_b", [10])):
        name, part = key.split("_")
        got = W[key]
        check(
            hasattr(got, "shape") and list(got.shape) == shape,
            f"{name}.{'weight' if part == 'w' else 'bias'} of CachedCausalSelfAttention({d_model}, {n_heads}) "
            f"should be a tensor of shape {shape}, got {list(got.shape) if hasattr(got, 'shape') else got!r}: "
            "qkv = nn.Linear(d_model, 3 * d_model), proj = nn.Linear(d_model, d_model).",
        )
    W = {key: value.to(F64) for key, value in W.items()}
    x = randn(2, sum(pieces), d_model, seed=50)
    outs, caches = feed(module, x, pieces)
    check_outputs(outs, W, x, n_heads, pieces, seed=50)
    check_caches(caches, W, x, n_heads, pieces)


# ---------------------------------------------------------------- the cache


@public
def test_cache_returned_when_none_passed(sub):
    """cache=None returns the prompt's keys and values"""
    W = make_weights(6, 60)
    x = randn(3, 4, 6, seed=61)
    module, _, _ = build(sub, 6, 3, W)
    _, cache = call(module, x, None, "forward(x) with cache=None")
    check_caches([cache], W, x, 3, [4])


def test_passed_cache_not_modified(sub, device):
    """The cache dict passed in is left unchanged"""
    W = make_weights(8, 70)
    x = randn(2, 6, 8, seed=71)
    module, _, _ = build(sub, 8, 4, W, device=device)
    _, cache = call(module, x[:, :4], None, "forward(x[:, :4])")
    for keyword in (False, True):
        _, new_cache = call(module, x[:, 4:], cache, "forward(x[:, 4:], cache)", keyword=keyword)
        mutated = sub.last_call.mutated
        check(
            not any(m in (1, "cache") for m in mutated),
            "forward(x, cache) modified the cache dict it was passed (a step of 2 tokens after 4 cached); the "
            "caller may still need the old cache (for example to try another continuation).",
            diagnosis="The cache dict passed in is updated (cache['k'] = ...): build and return a new dict, "
            "e.g. {'k': torch.cat([cache['k'], k], dim=2), ...}.",
        )
        check_caches([new_cache], W, x, 4, [6], device=device)


def test_no_hidden_state_between_calls(sub):
    """No state kept: two sequences, two continuations"""
    W = make_weights(8, 80)
    module, _, _ = build(sub, 8, 2, W)
    a, b = randn(2, 5, 8, seed=81), randn(2, 4, 8, seed=82)
    ya1, ca = call(module, a[:, :3], None, "forward(a[:, :3])")
    yb1, cb = call(module, b[:, :2], None, "forward(b[:, :2]) (a second sequence)")
    ya2, _ = call(module, a[:, 3:], ca, "forward(a[:, 3:], cache_a)")
    yb2, _ = call(module, b[:, 2:], cb, "forward(b[:, 2:], cache_b)")
    hint = "Two sequences are decoded alternately with the same module, each with its own cache."

    def interleaving_breaks_it():
        """A state kept on the module: sequence a alone, in the same two calls, comes out right."""
        ya1, ca = call(module, a[:, :3], None, "forward(a[:, :3])")
        ya2, _ = call(module, a[:, 3:], ca, "forward(a[:, 3:], cache_a)")
        if _near(ya1, oracle(W, a, 2)[:, :3]) and _near(ya2, oracle(W, a, 2)[:, 3:]):
            return (
                "Each sequence comes out right alone but not when two alternate: everything a call needs must "
                "come from x and the cache passed in, not from state kept on the module."
            )
        return ""

    for outs, x, pieces, name in (([ya1, ya2], a, [3, 2], "sequence a"), ([yb1, yb2], b, [2, 2], "sequence b")):
        want = oracle(W, x, 2)
        start = 0
        for i, (y, n) in enumerate(zip(outs, pieces)):
            check_close(
                y,
                want[:, start : start + n].float(),
                what=f"y of {name}, call {i + 1}",
                kind="model",
                inputs=describe(a=a, b=b),
                hint=hint,
                diagnosis=interleaving_breaks_it,
            )
            start += n
    other = randn(2, 2, 8, seed=83)
    y_other, _ = call(module, other, ca, "forward(other, cache_a) (another continuation of a[:, :3])")
    check_close(
        y_other,
        oracle(W, torch.cat([a[:, :3], other], dim=1), 2)[:, 3:].float(),
        what="y of a second continuation of the same cache",
        kind="model",
        inputs=describe(a=a, other=other),
        hint="A cache that was already used once must give the same answers when used again.",
    )


def test_step_projects_only_new_tokens(sub):
    """A step projects only its new tokens"""
    d_model, n_heads, batch, pieces = 8, 2, 2, [5, 1, 3, 1]
    W = make_weights(d_model, 90)
    x = randn(batch, sum(pieces), d_model, seed=91)
    module, qkv, proj = build(sub, d_model, n_heads, W)
    cache, start = None, 0
    for i, n in enumerate(pieces):
        qkv.clear()
        proj.clear()
        y, cache = call(module, x[:, start : start + n], cache, f"call {i + 1}")
        step = f"call {i + 1} ({n} new token{'s' * (n > 1)} of batch {batch}, after {start} cached)"
        for name, layer in (("qkv", qkv), ("proj", proj)):
            shapes = [list(s) for s in layer.seen_shapes]
            check(shapes, f"{step} never called self.{name}: project with the module's own {name} layer.")
            rows = sum(math.prod(s[:-1]) for s in shapes)
            check(
                rows == batch * n and all(s[-1] == d_model for s in shapes),
                f"{step} fed self.{name} inputs of shapes {shapes}, {rows} token vectors in all; a step must "
                f"project only its {batch * n} new token vectors (the earlier positions' keys and values come "
                "from the cache, never recomputed).",
                diagnosis="Each step projects the whole sequence so far again: project only the new tokens and "
                "take the earlier keys and values from the cache."
                if rows == batch * (start + n) and start
                else "",
            )
        start += n


# ---------------------------------------------------------------- gradients and hygiene


def test_gradients_of_a_prompt(sub):
    """Gradients of a prompt w.r.t. x and the weights"""
    d_model, n_heads = 6, 2
    W = make_weights(d_model, 100)
    x = randn(2, 4, d_model, seed=101, dtype=F64)
    g = randn(2, 4, d_model, seed=102, dtype=F64)
    module, _, _ = build(sub, d_model, n_heads, W, F64)
    result = sub.grad_call(module, x, wrt=[0], grad_outputs=(g,))
    leaves = {k: v.clone().requires_grad_(True) for k, v in W.items()}
    x_leaf = x.clone().requires_grad_(True)
    torch.autograd.backward(oracle(leaves, x_leaf, n_heads), g)
    check(
        isinstance(result.output, (tuple, list)) and len(result.output) == 2,
        "forward(x) should return (y, cache).",
    )
    inputs = describe(x=x) + f", d_model={d_model}, n_heads={n_heads}"
    check_close(result.output[0], oracle(W, x, n_heads), what="y", kind="model", inputs=inputs)
    got = result.input_grads.get(0)
    if got is None:
        fail("no gradient reached x: is the computation detached from it (.detach(), .item(), torch.no_grad())?")
    check_close(got, x_leaf.grad, what="the gradient w.r.t. x", kind="model", inputs=inputs)
    for key, name in (
        ("qkv_w", "qkv.weight"),
        ("qkv_b", "qkv.bias"),
        ("proj_w", "proj.weight"),
        ("proj_b", "proj.bias"),
    ):
        got = result.param_grads.get(name)
        if got is None:
            fail(f"no gradient reached {name}: is the computation detached from it?")
        check_close(got, leaves[key].grad, what=f"the gradient w.r.t. {name}", kind="model", inputs=inputs)


def test_gradients_of_a_step(sub):
    """Gradients of a step w.r.t. its new tokens"""
    d_model, n_heads = 6, 3
    W = make_weights(d_model, 110)
    x = randn(2, 5, d_model, seed=111, dtype=F64)
    g = randn(2, 2, d_model, seed=112, dtype=F64)
    module, _, _ = build(sub, d_model, n_heads, W, F64)
    _, cache = call(module, x[:, :3], None, "forward(x[:, :3])")
    result = sub.grad_call(module, x[:, 3:], cache, wrt=[0], grad_outputs=(g,))
    new = x[:, 3:].clone().requires_grad_(True)
    torch.autograd.backward(oracle(W, torch.cat([x[:, :3], new], dim=1), n_heads)[:, 3:], g)
    got = result.input_grads.get(0)
    if got is None:
        fail("no gradient reached the new tokens x: is the computation detached from them?")
    check_close(
        got,
        new.grad,
        what="the gradient w.r.t. the new tokens of a step (2 new after 3 cached)",
        kind="model",
        inputs=describe(x=x[:, 3:]) + f", d_model={d_model}, n_heads={n_heads}",
    )


def test_input_not_modified(sub):
    """The input x is not modified in place"""
    W = make_weights(8, 120)
    x = randn(2, 5, 8, seed=121)
    module, _, _ = build(sub, 8, 2, W)
    _, cache = call(module, x[:, :3], None, "forward(x[:, :3])")
    check(not sub.last_call.mutated, "forward(x) modified x in place: leave the input unchanged.")
    call(module, x[:, 3:], cache, "forward(x[:, 3:], cache)")
    check(0 not in sub.last_call.mutated, "forward(x, cache) modified x in place: leave the input unchanged.")


def test_outputs_follow_input_dtype_and_device(sub, device):
    """y and the cache take the dtype and device of x"""
    for dtype in (torch.float32, F64):
        W = make_weights(6, 130)
        x = randn(1, 4, 6, seed=131, dtype=dtype)
        module, _, _ = build(sub, 6, 2, W, dtype, device)
        y, cache = call(module, x[:, :3], None, "forward(x[:, :3])")
        y2, cache2 = call(module, x[:, 3:], cache, "forward(x[:, 3:], cache)")
        name = str(dtype).removeprefix("torch.")
        for what, got in (
            ("y", y),
            ("cache['k']", cache["k"]),
            ("y of a step", y2),
            ("the step's cache['v']", cache2["v"]),
        ):
            where = remote_meta(got).device if remote_meta(got) else "cpu"
            check(where.startswith(device), f"{what} is on {where}, but x ({name}) was on {device}.")
            check(got.dtype == dtype, f"{what} has dtype {str(got.dtype).removeprefix('torch.')}, expected {name}.")
