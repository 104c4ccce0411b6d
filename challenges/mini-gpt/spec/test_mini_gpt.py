"""Specs for MiniGPT: parameter names and shapes, the tied head, logits against a float64
oracle assembled from the model's own weights (embeddings + learned positions + pre-LN
blocks + ln_f + tied head), causality, positions, gradients, the ValueError, and one pinned
training run on a pangram repeated five times (reproducible whatever the global RNG state,
loss below 1.5 nats in train_on's losses and in the judge's own cross-entropy)."""

import math

import torch

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
    once_per_worker,
    public,
    randn,
    time_limit,
)

F64 = torch.float64
CHARS = " .abcdefghijklmnopqrstuvwxyz"  # the pinned vocabulary: id = CHARS.index(c); ids 28 and 29 unused
TEXT = "the quick brown fox jumps over the lazy dog. " * 5
V, D, H, L, MAX_LEN = 30, 32, 2, 2, 32  # the graded model: MiniGPT(30, 32, 2, 2, 32), d_ff = 4 * 32
STEPS, GOAL, TRAIN_SEED = 200, 1.5, 7


def block_shapes(d, d_ff):
    """{name: shape} of one DecoderBlock's parameters, relative to the block."""
    want = {"ln1.weight": [d], "ln1.bias": [d]}
    for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
        want.update({f"attn.{proj}.weight": [d, d], f"attn.{proj}.bias": [d]})
    want.update({"ln2.weight": [d], "ln2.bias": [d], "fc1.weight": [d_ff, d], "fc1.bias": [d_ff]})
    want.update({"fc2.weight": [d, d_ff], "fc2.bias": [d]})
    return want


def shapes(vocab, d, layers, max_len, d_ff):
    """{parameter name: shape} of MiniGPT(vocab, d, ·, layers, max_len, d_ff) as the statement names them."""
    want = {"tok_emb.weight": [vocab, d], "pos_emb.weight": [max_len, d]}
    for i in range(layers):
        want.update({f"blocks.{i}.{name}": shape for name, shape in block_shapes(d, d_ff).items()})
    want.update({"ln_f.weight": [d], "ln_f.bias": [d], "head.weight": [vocab, d]})
    return want


def make_sd(vocab, d, layers, max_len, d_ff, seed, dtype=F64):
    """Seeded weights in the learner's names, large enough that every part of the model
    shows in the logits; ``head.weight`` IS ``tok_emb.weight`` (one tensor, as tied)."""
    sd, k = {}, seed * 1000
    for name, shape in shapes(vocab, d, layers, max_len, d_ff).items():
        k += 1
        if name == "head.weight":
            sd[name] = sd["tok_emb.weight"]
        elif name.endswith("emb.weight"):
            sd[name] = randn(*shape, seed=k, dtype=dtype)
        elif ".ln" in name or name.startswith("ln_f"):
            sd[name] = randn(*shape, seed=k, dtype=dtype, scale=0.3) + (1.0 if name.endswith("weight") else 0.0)
        elif name.endswith("weight"):
            sd[name] = randn(*shape, seed=k, dtype=dtype, scale=1.5 / math.sqrt(shape[1]))
        else:
            sd[name] = randn(*shape, seed=k, dtype=dtype, scale=0.3)
    return sd


# ---------------------------------------------------------------- the oracle and its mistaken variants


def layer_norm(x, weight, bias):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + 1e-5) * weight + bias


def attention(sd, p, x, heads, mistake):
    """Causal multi-head self-attention of x [B, T, d] with the weights under prefix ``p``."""
    B, T, d = x.shape
    hd = d // heads

    def proj(name, inp):
        return inp @ sd[f"{p}{name}.weight"].T + sd[f"{p}{name}.bias"]

    q, k, v = (proj(n, x).reshape(B, T, heads, hd).transpose(1, 2) for n in ("q_proj", "k_proj", "v_proj"))
    scores = q @ k.transpose(-2, -1) / math.sqrt(hd)  # (B, H, T, T)
    if mistake != "no_causal":
        future = torch.ones(T, T, dtype=torch.bool).triu(1)
        scores = scores.masked_fill(future, float("-inf"))
    heads_out = torch.softmax(scores, dim=-1) @ v  # (B, H, T, hd)
    return proj("out_proj", heads_out.transpose(1, 2).reshape(B, T, d))


def block(sd, p, x, heads, mistake):
    """A pre-LN decoder block (or its post-LN variant) with the weights under prefix ``p``."""

    def ln(name, inp):
        return layer_norm(inp, sd[f"{p}{name}.weight"], sd[f"{p}{name}.bias"])

    def mlp(inp):
        hidden = inp @ sd[f"{p}fc1.weight"].T + sd[f"{p}fc1.bias"]
        hidden = torch.nn.functional.gelu(hidden, approximate="tanh" if mistake == "tanh_gelu" else "none")
        return hidden @ sd[f"{p}fc2.weight"].T + sd[f"{p}fc2.bias"]

    if mistake == "post_ln":
        h = ln("ln1", x + attention(sd, p + "attn.", x, heads, mistake))
        return ln("ln2", h + mlp(h))
    h = x + attention(sd, p + "attn.", ln("ln1", x), heads, mistake)
    return h + mlp(ln("ln2", h))


def oracle(sd, ids, heads=H, mistake=""):
    """Logits [B, T, V] in float64 from the weights ``sd``: tok_emb[ids] + pos_emb[:T], the
    blocks in order, ln_f, then the tied head (tok_emb.weight); ``mistake`` makes a variant."""
    sd = {name: value.double() for name, value in sd.items()}
    T = ids.shape[1]
    x = sd["tok_emb.weight"][ids]  # (B, T, d)
    if mistake == "batch_positions":  # pos_emb(arange(B)): one vector per sequence, not per position
        x = x + sd["pos_emb.weight"][: ids.shape[0], None]
    elif mistake != "no_positions":
        x = x + sd["pos_emb.weight"][:T]
    layers = len({name.split(".")[1] for name in sd if name.startswith("blocks.")})
    for i in range(layers):
        x = block(sd, f"blocks.{i}.", x, heads, mistake)
    if mistake != "no_ln_f":
        x = layer_norm(x, sd["ln_f.weight"], sd["ln_f.bias"])
    logits = x @ sd["head.weight" if mistake == "own_head" else "tok_emb.weight"].T  # (B, T, V)
    if mistake == "softmax":
        return torch.softmax(logits, dim=-1)
    if mistake == "log_softmax":
        return torch.log_softmax(logits, dim=-1)
    return logits


MISTAKES = {
    "softmax": "It matches softmax(logits): forward must return the raw scores (logits), not probabilities; "
    "cross_entropy applies the log-softmax itself.",
    "log_softmax": "It matches log_softmax(logits): forward must return the raw scores (logits), not "
    "log-probabilities.",
    "no_positions": "It matches a model whose positions are not added: x = tok_emb(ids) + pos_emb(arange(T)), "
    "or every position of the same token looks alike.",
    "batch_positions": "It matches position vectors indexed by the batch (pos_emb(arange(B))): index them by the "
    "position, pos_emb(arange(T)), broadcast over the batch.",
    "no_causal": "It matches attention without the causal mask: the blocks must call attn(..., causal=True) "
    "so that position t attends positions ≤ t only.",
    "post_ln": "It matches post-LN blocks (LayerNorm after each residual sum): the blocks are pre-LN, "
    "h = x + attn(ln1(x)); out = h + fc2(gelu(fc1(ln2(h)))).",
    "no_ln_f": "It matches a model without the final LayerNorm: apply ln_f to the last block's output before the head.",
    "tanh_gelu": "It matches the tanh approximation of GELU: the blocks use the exact (erf) GELU, "
    "nn.functional.gelu(x) with its default approximate='none'.",
}


def _near(got, want):
    return (
        hasattr(got, "shape")
        and tuple(got.shape) == tuple(want.shape)
        and torch.allclose(got.detach().double(), want, rtol=1e-3, atol=1e-4)
    )


def diagnose(got, sd, ids, heads=H):
    """The typical mistake the logits ``got`` match, in the learner's words, or ''."""
    if not hasattr(got, "shape"):
        return ""
    want = oracle(sd, ids, heads)
    for mistake, hint in MISTAKES.items():
        variant = oracle(sd, ids, heads, mistake)
        if not _near(variant, want) and _near(got, variant):
            return hint
    return ""


# ---------------------------------------------------------------- calling the submission


def new_model(sub, *, d_ff=None, dtype=F64, seed=0, config=(V, D, H, L, MAX_LEN)):
    """The learner's MiniGPT in ``dtype`` holding seeded weights; returns it and the weights
    as it holds them (rounded to ``dtype``)."""
    vocab, d, heads, layers, max_len = config
    args = f"{vocab}, {d}, {heads}, {layers}, {max_len}" + ("" if d_ff is None else f", d_ff={d_ff}")
    model = sub.MiniGPT(*config) if d_ff is None else sub.MiniGPT(*config, d_ff=d_ff)
    model = model.to(dtype)
    sd = make_sd(vocab, d, layers, max_len, 4 * d if d_ff is None else d_ff, seed, dtype)
    try:
        model.load_state_dict(sd)
    except RemoteException as exc:
        fail(
            f"MiniGPT({args}) could not load a state dict with the parameter names of the statement "
            f"({exc.type_name}: {exc.remote_message[:300]}). Check the names: tok_emb, pos_emb, blocks.i.ln1, "
            "blocks.i.attn.q_proj ..., blocks.i.ln2, blocks.i.fc1, blocks.i.fc2, ln_f, head."
        )
    return model, {name: value.double() for name, value in sd.items()}, f"MiniGPT({args})"


def logits_of(model, ids, what):
    __tracebackhide__ = True
    got = model(ids)
    check(hasattr(got, "shape"), f"{what}(ids) should return a logits tensor, got {describe_value(got)}.")
    return got


def check_logits(got, sd, ids, *, what, heads=H, dtype=F64, kind="model", seed=None):
    __tracebackhide__ = True
    check_close(
        got,
        oracle(sd, ids, heads).to(dtype),
        what=f"{what}(ids): the logits tensor",
        kind=kind,
        inputs=describe(ids=ids) + f", {str(dtype).removeprefix('torch.')} weights",
        seed=seed,
        diagnosis=lazy(diagnose, got, sd, ids, heads),
    )


def random_ids(B, T, seed, vocab=V):
    return torch.randint(0, vocab, (B, T), generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- parameters and tying


@public
def test_parameter_names_and_shapes(sub):
    """MiniGPT(30, 32, 2, 2, 32): tok_emb, pos_emb, blocks.0-1 (ln1, attn, ln2, fc1, fc2), ln_f, head; d_ff = 128"""
    got = {name: list(getattr(v, "shape", [])) for name, v in sub.MiniGPT(V, D, H, L, MAX_LEN).state_dict().items()}
    want = shapes(V, D, L, MAX_LEN, 4 * D)
    missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
    check(
        not missing and not extra,
        f"MiniGPT({V}, {D}, {H}, {L}, {MAX_LEN}).state_dict() should hold exactly the parameters of the statement; "
        f"missing: {missing[:8]}, unexpected: {extra[:8]}",
        diagnosis="The head has a bias: head = nn.Linear(d_model, vocab_size, bias=False), tied to tok_emb."
        if "head.bias" in extra
        else "There is no head module: add head = nn.Linear(d_model, vocab_size, bias=False) and tie it, "
        "head.weight = tok_emb.weight (F.linear(x, tok_emb.weight) computes the same, but the statement names it)."
        if missing == ["head.weight"]
        else "",
    )
    wrong = {name: (got[name], want[name]) for name in want if got[name] != want[name]}
    check(
        not wrong,
        "parameters with the wrong shape (got, expected): "
        + ", ".join(f"{n} {g} not {w}" for n, (g, w) in wrong.items()),
        diagnosis="d_ff=None must mean 4·d_model (128 here) for fc1 and fc2."
        if set(wrong) <= {f"blocks.{i}.{n}" for i in range(L) for n in ("fc1.weight", "fc1.bias", "fc2.weight")}
        else "",
    )
    got = {n: list(v.shape) for n, v in sub.MiniGPT(V, D, H, 1, 8, d_ff=48).state_dict().items()}
    want = shapes(V, D, 1, 8, 48)
    check(
        got == want,
        f"MiniGPT({V}, {D}, {H}, 1, 8, d_ff=48) should hold {len(want)} parameters with fc1.weight [48, {D}] and "
        f"pos_emb.weight [8, {D}]; differing: "
        + ", ".join(f"{n}: {got.get(n)} not {w}" for n, w in want.items() if got.get(n) != w),
    )


@public
def test_head_is_tied_to_token_embedding(sub):
    """head.weight is tok_emb.weight: one tensor, so writing one writes the other"""
    sub.seed(0)
    model = sub.MiniGPT(V, D, H, L, MAX_LEN)
    sd = model.state_dict()
    untied = (
        "The head is not tied to the token embedding: set self.head.weight = self.tok_emb.weight (the same "
        "Parameter) after creating both, so that head.weight is tok_emb.weight."
    )
    check(
        torch.equal(sd["head.weight"], sd["tok_emb.weight"]),
        f"in a new MiniGPT({V}, {D}, {H}, {L}, {MAX_LEN}), head.weight and tok_emb.weight differ: "
        "they should be one tensor.",
        diagnosis=untied,
    )
    distinct = dict(sd)
    distinct["tok_emb.weight"] = torch.full((V, D), 0.25)
    distinct["head.weight"] = torch.full((V, D), -0.5)
    model.load_state_dict(distinct)
    after = model.state_dict()
    check(
        torch.equal(after["head.weight"], after["tok_emb.weight"]),
        "after load_state_dict with tok_emb.weight all 0.25 and head.weight all -0.5, the two still differ "
        "(a tied head is the same tensor as the embedding, so they would both hold the value loaded last).",
        diagnosis=untied,
    )


# ---------------------------------------------------------------- forward


@public
def test_logits_match_oracle(sub):
    """float64 weights, ids [2, 7]: logits = tied head(ln_f(blocks(tok_emb[ids] + pos_emb[:7])))"""
    model, sd, what = new_model(sub, seed=1)
    ids = random_ids(2, 7, seed=1)
    check_logits(logits_of(model, ids, what), sd, ids, what=what, seed=1)


def test_full_length_and_single_token(sub):
    """T = max_len with batch 3, and T = 1 (position 0 only)"""
    model, sd, what = new_model(sub, seed=2)
    for ids in (random_ids(3, MAX_LEN, seed=2), random_ids(2, 1, seed=3)):
        check_logits(logits_of(model, ids, what), sd, ids, what=what, seed=2)


def test_other_sizes(sub):
    """MiniGPT(11, 12, 3, 3, 9, d_ff=20): three heads, three blocks, an explicit d_ff"""
    model, sd, what = new_model(sub, d_ff=20, seed=4, config=(11, 12, 3, 3, 9))
    ids = random_ids(2, 9, seed=4, vocab=11)
    check_logits(logits_of(model, ids, what), sd, ids, what=what, heads=3, seed=4)


def test_float32_model(sub):
    """A float32 model (the default dtype) returns float32 logits, within the float32 model tolerance"""
    model, sd, what = new_model(sub, dtype=torch.float32, seed=5)
    ids = random_ids(2, 10, seed=5)
    check_logits(logits_of(model, ids, what), sd, ids, what=what, dtype=torch.float32, seed=5)


def test_causal(sub):
    """Changing the ids after position t leaves the logits at positions ≤ t unchanged"""
    model, sd, what = new_model(sub, seed=6)
    ids = random_ids(2, 12, seed=6)
    base = logits_of(model, ids, what)
    for t in (3, 8):
        changed = ids.clone()
        changed[:, t + 1 :] = (ids[:, t + 1 :] + 1 + torch.arange(12 - t - 1)) % V
        got = logits_of(model, changed, what)
        same_shape = hasattr(got, "shape") and tuple(got.shape) == tuple(base.shape)
        err = float((got[:, : t + 1] - base[:, : t + 1]).abs().max()) if same_shape else math.inf
        check(
            err <= 1e-9,
            f"{what}: changing the ids after position {t} changed the logits at positions 0..{t} by up to "
            f"{err:.3g}: the model sees the future. Inputs: {describe(ids=ids)}.",
            diagnosis=lazy(diagnose, base, sd, ids),
        )


def test_positions_used(sub):
    """The same token at every position gets different logits at different positions (learned positions added)"""
    model, sd, what = new_model(sub, seed=7)
    ids = torch.full((1, 6), 9)
    got = logits_of(model, ids, what)
    spread = float((got - got[:, :1]).abs().max()) if hasattr(got, "shape") else 0.0
    check(
        spread > 1e-3,
        f"{what}: ids [[9, 9, 9, 9, 9, 9]] get the same logits at every position (largest difference "
        f"{spread:.3g}): the position embeddings are not used.",
        diagnosis=lazy(lambda: diagnose(got, sd, ids) or MISTAKES["no_positions"]),
    )
    check_logits(got, sd, ids, what=what, seed=7)


def test_gradients(sub):
    """Gradients of ⟨g, logits⟩ w.r.t. every parameter, float64, the tied matrix summing both of its uses"""
    model, sd, what = new_model(sub, seed=8)
    ids = random_ids(2, 5, seed=8)
    g = randn(2, 5, V, seed=9, dtype=F64)
    result = sub.grad_call(model, ids, grad_outputs=g)
    check_logits(result.output, sd, ids, what=what, seed=8)
    leaves = {name: value.clone().requires_grad_(True) for name, value in sd.items() if name != "head.weight"}
    tied = "head.weight" not in result.param_grads or "tok_emb.weight" not in result.param_grads
    leaves["head.weight"] = leaves["tok_emb.weight"] if tied else sd["head.weight"].clone().requires_grad_(True)
    torch.autograd.backward(oracle(leaves, ids, mistake="" if tied else "own_head"), g)
    want = {name: leaf.grad for name, leaf in leaves.items() if name != "head.weight"}
    if not tied:
        want["head.weight"] = leaves["head.weight"].grad
    elif "tok_emb.weight" not in result.param_grads:  # tied the other way round: named after head
        want["head.weight"] = want.pop("tok_emb.weight")
    check_param_grads(result, want, inputs=describe(ids=ids) + ", upstream gradient g on the logits", seed=8)


def test_ids_unchanged_and_float_logits(sub):
    """forward leaves ids unchanged and returns logits in the model's dtype"""
    model, _, what = new_model(sub, dtype=torch.float32, seed=10)
    ids = random_ids(2, 6, seed=10)
    got = logits_of(model, ids, what)
    with diagnosing("forward changes ids in place: compute new tensors instead."):
        check_unchanged_inputs(sub, ["ids"])
    check(
        got.dtype == torch.float32,
        f"{what} in float32 returned logits of dtype {got.dtype}, expected float32.",
    )


def test_too_long_raises(sub):
    """T > max_len → ValueError (there is no learned position for it)"""
    model, _, what = new_model(sub, seed=11)
    expect_raises(
        ValueError,
        model,
        random_ids(1, MAX_LEN + 1, seed=11),
        call=f"{what}(ids of shape [1, {MAX_LEN + 1}])",
        diagnosis=f"T > max_len is not checked: raise ValueError when ids has more than max_len = {MAX_LEN} "
        "positions (pos_emb has no row for them; nn.Embedding's own error is an IndexError).",
    )


# ---------------------------------------------------------------- training


def corpus():
    return torch.tensor([CHARS.index(c) for c in TEXT])


def _train_twice(sub):
    sub.seed(0)
    first = sub.MiniGPT(V, D, H, L, MAX_LEN)
    initial = first.state_dict()
    second = sub.MiniGPT(V, D, H, L, MAX_LEN)
    second.load_state_dict(initial)
    ids = corpus()
    sub.seed(1234)
    losses_1 = first.train_on(ids, STEPS, TRAIN_SEED)
    sub.seed(98765)
    losses_2 = second.train_on(ids, STEPS, TRAIN_SEED)
    return first, initial, losses_1, losses_2


def trained(sub):
    """Two trainings of the same initial MiniGPT(30, 32, 2, 2, 32) with seed 7 for 200 steps, the
    worker's global RNG seeded with 1234 before the first and with 98765 before the second:
    (model after the first run, its initial weights, losses of run 1, losses of run 2). Done
    once per worker: the training tests share it (a failure too)."""
    return once_per_worker(sub, "trained", _train_twice)


TRAINING = (
    f"MiniGPT({V}, {D}, {H}, {L}, {MAX_LEN}).train_on(ids of the text {TEXT[:45]!r} × 5, {STEPS}, seed={TRAIN_SEED})"
)


def check_loss_list(losses, steps, call):
    __tracebackhide__ = True
    check(
        isinstance(losses, list),
        f"{call} should return a list of {steps} Python floats, got {describe_value(losses)}.",
    )
    check(len(losses) == steps, f"{call} returned {len(losses)} losses, expected {steps} (one a step).")
    kinds = sorted({type(x).__name__ for x in losses if not isinstance(x, float)})
    check(
        not kinds,
        f"{call} should return Python floats, got {', '.join(kinds)}",
        diagnosis="The losses are not Python floats: append loss.item() (a float, and no autograd graph kept).",
    )


def unchanged(model, initial):
    """The diagnosis when training left every weight as it was, or ''."""
    after = model.state_dict()
    if all(torch.equal(after[name], value) for name, value in initial.items()):
        return (
            "The model's weights did not change during train_on: the optimizer never steps (or it updates "
            "other tensors than the model's own parameters). Create torch.optim.AdamW(self.parameters(), lr=...) "
            "and call zero_grad(), loss.backward() and optimizer.step() every step."
        )
    return ""


def too_slow(losses):
    """The diagnosis when the loss falls steadily but not far enough, or ''."""
    head, tail = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
    before = sum(losses[-30:-20]) / 10
    if all(map(math.isfinite, losses)) and head - tail > 0.3 and before - tail > 0.05:
        return (
            f"The loss is still falling at step {STEPS} (from {head:.3f} at the start to {tail:.3f}): the updates are "
            "too small. With AdamW a learning rate of 1e-3–3e-3 works; 3e-4 is too slow for 200 steps."
        )
    return ""


def not_shifted(logits, ids):
    """The diagnosis when the trained model predicts the token it is given, or ''."""
    same = float(torch.nn.functional.cross_entropy(logits.double().reshape(-1, V), ids.reshape(-1)))
    if same < 0.5:
        return (
            f"The trained model predicts the token at its own position (cross-entropy {same:.3f} nats): the "
            "targets are not shifted. Position t must predict token t + 1: inputs = window[:, :-1], "
            "targets = window[:, 1:]."
        )
    return ""


def test_train_on_returns_losses(sub):
    """train_on(ids, 5, seed) returns a list of 5 Python floats"""
    sub.seed(0)
    model = sub.MiniGPT(V, D, H, L, MAX_LEN)
    losses = model.train_on(corpus(), 5, 3)
    check_loss_list(losses, 5, f"MiniGPT({V}, {D}, {H}, {L}, {MAX_LEN}).train_on(ids [225], 5, 3)")
    check(all(map(math.isfinite, losses)), f"train_on(ids [225], 5, 3) returned non-finite losses {losses}.")


@time_limit(60)
def test_train_on_reproducible(sub):
    """The same initial model and seed give identical losses with the global RNG reseeded differently"""
    _, _, losses_1, losses_2 = trained(sub)
    check_loss_list(losses_1, STEPS, TRAINING)
    check_loss_list(losses_2, STEPS, TRAINING)
    differ = [i for i, (a, b) in enumerate(zip(losses_1, losses_2)) if a != b]
    check(
        not differ,
        f"two runs of {TRAINING} from the same initial weights, with the same seed but the global RNG seeded "
        f"differently before each (torch.manual_seed(1234), then 98765), gave different losses from step "
        f"{differ[0] if differ else 0} on ({losses_1[differ[0]] if differ else 0:.6f} vs "
        f"{losses_2[differ[0]] if differ else 0:.6f}).",
        diagnosis="The training depends on the global RNG: draw the windows (and anything else random) from "
        "torch.Generator().manual_seed(seed), passed as generator= to torch.randint, not from the global RNG.",
    )


@time_limit(60)
def test_training_loss_goal(sub):
    """200 steps on the pangram × 5: the mean of the last 10 losses < 1.5 nats (unigram entropy 3.05)"""
    model, initial, losses, _ = trained(sub)
    check_loss_list(losses, STEPS, TRAINING)
    tail = sum(losses[-10:]) / 10
    stalled = ""
    if 2.7 < tail < 3.5 and not unchanged(model, initial):
        stalled = (
            " A loss stuck near the unigram entropy means the model learned the letter frequencies only: check "
            "that the gradients are zeroed every step and that the causal mask and positions are right."
        )
    check(
        math.isfinite(tail) and tail < GOAL,
        f"{TRAINING}: the mean of the last 10 losses is {tail:.4f} nats (the first was {losses[0]:.4f}); it should "
        f"be below {GOAL} (the unigram entropy of the text is 3.05 nats; good solutions reach ~0.05)." + stalled,
        diagnosis=lambda: unchanged(model, initial) or too_slow(losses),
    )


@time_limit(60)
def test_trained_model_predicts_the_text(sub):
    """After training, the judge's own cross-entropy of forward on the whole text (7 windows of 32) < 1.5 nats"""
    model, initial, losses, _ = trained(sub)
    ids = corpus()
    windows = torch.stack([ids[s : s + MAX_LEN + 1] for s in range(0, len(ids) - MAX_LEN, MAX_LEN)])  # (7, 33)
    inputs, targets = windows[:, :-1], windows[:, 1:]
    logits = logits_of(model, inputs, f"the trained MiniGPT({V}, {D}, {H}, {L}, {MAX_LEN})")
    check(
        list(logits.shape) == [7, MAX_LEN, V],
        f"the trained model's logits for ids [7, {MAX_LEN}] have shape {list(logits.shape)}, expected [7, {MAX_LEN}, {V}].",
    )
    loss = float(torch.nn.functional.cross_entropy(logits.double().reshape(-1, V), targets.reshape(-1)))
    check(
        math.isfinite(loss) and loss < GOAL,
        f"after {TRAINING}, the cross-entropy of forward's logits against the next tokens of the whole text "
        f"(7 windows of {MAX_LEN}, each position predicting the token after it) is {loss:.4f} nats; it should be "
        f"below {GOAL} (train_on's last 10 losses averaged {sum(losses[-10:]) / 10:.4f}).",
        diagnosis=lambda: unchanged(model, initial) or not_shifted(logits, inputs) or too_slow(losses),
    )
