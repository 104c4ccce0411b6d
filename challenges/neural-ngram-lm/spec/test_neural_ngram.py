"""Specs for NeuralNgramLM: the parameters' names and shapes, logits against a from-scratch
float64 oracle (with hand-set weights, seeded weights and the learner's own initial
weights), gradients, hygiene, the context's validation, and a pinned training run."""

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grader.spec import (
    RemoteException,
    check,
    check_close,
    check_unchanged_inputs,
    describe,
    describe_value,
    diagnosing,
    expect_raises,
    fail,
    lazy,
    public,
)

F64 = torch.float64


def shapes(V, n, m, h):
    """The state dict's names and shapes the catalog pins."""
    return {
        "embed.weight": [V, m],
        "hidden.weight": [h, n * m],
        "hidden.bias": [h],
        "out.weight": [V, h],
        "out.bias": [V],
    }


def seeded_weights(V, n, m, h, seed, scale=1.0):
    """A float64 state dict drawn from a private generator (the judge's RNG is left alone)."""
    gen = torch.Generator().manual_seed(seed)
    fan_in = {"embed.weight": 1, "hidden.weight": n * m, "hidden.bias": n * m, "out.weight": h, "out.bias": h}
    return {
        name: torch.randn(*shape, generator=gen, dtype=F64) * (scale / math.sqrt(fan_in[name]))
        for name, shape in shapes(V, n, m, h).items()
    }


def contexts(B, n, V, seed, dtype=torch.int64):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, V, (B, n), generator=gen).to(dtype)


# ---------------------------------------------------------------- oracle and typical mistakes


def oracle(sd, context, mistake=""):
    """Bengio's logits from scratch in float64: out(tanh(hidden(concat(embed(context))))).

    ``mistake`` names a typical wrong variant (see MISTAKES)."""
    E, W_h, b_h = sd["embed.weight"].double(), sd["hidden.weight"].double(), sd.get("hidden.bias")
    W_o, b_o = sd["out.weight"].double(), sd["out.bias"].double()
    ctx = context.long()
    if mistake == "reversed":
        ctx = ctx.flip(1)
    e = E[ctx]  # (B, n, m)
    B, n, m = e.shape
    if mistake in ("summed", "averaged"):
        x = e.sum(1) if mistake == "summed" else e.mean(1)  # (B, m)
    elif mistake == "interleaved":
        x = e.transpose(1, 2).reshape(B, n * m)  # (B, m·n): dims of every position side by side
    else:
        x = e.reshape(B, n * m)  # (B, n·m): position 0 first
    pre = x @ W_h.T  # (B, h)
    if b_h is not None and mistake != "no_hidden_bias":
        pre = pre + b_h.double()
    act = {"relu": torch.relu, "sigmoid": torch.sigmoid, "no_tanh": lambda t: t}.get(mistake, torch.tanh)
    logits = act(pre) @ W_o.T + b_o  # (B, V)
    if mistake == "log_softmax":
        return torch.log_softmax(logits, dim=1)
    if mistake == "softmax":
        return torch.softmax(logits, dim=1)
    if mistake == "tanh_logits":
        return torch.tanh(logits)
    return logits


MISTAKES = {
    "log_softmax": "It matches log_softmax of the logits: forward returns the raw scores out(tanh(hidden(e))); "
    "the log-softmax belongs to the loss (F.cross_entropy applies it).",
    "softmax": "It matches the softmax probabilities of the logits: forward returns the raw scores "
    "out(tanh(hidden(e))), with no softmax (F.cross_entropy applies log-softmax itself).",
    "relu": "It matches a ReLU hidden layer: Bengio's hidden layer is tanh(hidden(e)).",
    "sigmoid": "It matches a sigmoid hidden layer: Bengio's hidden layer is tanh(hidden(e)).",
    "no_tanh": "It matches a hidden layer without the tanh (a purely linear model): a = tanh(hidden(e)).",
    "tanh_logits": "It matches tanh applied to the logits too: only the hidden layer has a tanh; "
    "out(a) is returned as it is.",
    "reversed": "It matches the embeddings concatenated in reversed order: e = [embed(context[:, 0]); ...; "
    "embed(context[:, -1])], the oldest token first (embed(context).reshape(B, context_size * embed_dim)).",
    "interleaved": "It matches the embeddings interleaved (transposed before the reshape): concatenate the "
    "whole embedding of each position in turn, embed(context).reshape(B, context_size * embed_dim).",
    "no_hidden_bias": "It matches a hidden layer without its bias: hidden is nn.Linear(context_size * embed_dim, "
    "hidden_dim) with its bias, and the bias is added.",
    "summed": "It matches the context's embeddings summed (or averaged) instead of concatenated: Bengio's model "
    "concatenates them in context order, so hidden takes context_size * embed_dim inputs and word order counts.",
    "averaged": "It matches the context's embeddings averaged (or summed) instead of concatenated: Bengio's model "
    "concatenates them in context order, so hidden takes context_size * embed_dim inputs and word order counts.",
}


def _near(a, b):
    return (
        hasattr(a, "shape")
        and list(a.shape) == list(b.shape)
        and bool(torch.isfinite(a.double()).all())
        and torch.allclose(a.double(), b, rtol=1e-3, atol=1e-4)
    )


def diagnose(got, sd, context):
    """The typical mistake the logits ``got`` match, and the right answer does not, or ''
    (also '' where two mistakes give the same logits here, e.g. ReLU and no tanh when
    every pre-activation is positive: a later case tells them apart)."""
    if not hasattr(got, "shape"):
        return ""
    n, m = context.shape[1], sd["embed.weight"].shape[1]
    right = oracle(sd, context) if sd["hidden.weight"].shape[1] == n * m else None
    matches = []
    for name, message in MISTAKES.items():
        try:
            wrong = oracle(sd, context, name)
        except RuntimeError:  # the mistake's shapes do not fit these weights
            continue
        if right is not None and _near(wrong, right):
            continue  # this case cannot tell the mistake apart
        if _near(got, wrong):
            matches.append(message)
    return matches[0] if len(matches) == 1 else ""


# ---------------------------------------------------------------- calling the submission


def new_model(sub, V, n, m, h, sd=None, dtype=F64):
    """The learner's NeuralNgramLM(V, n, m, h) in ``dtype``, holding ``sd`` where given."""
    model = sub.NeuralNgramLM(V, n, m, h).to(dtype)
    if sd is not None:
        try:
            model.load_state_dict({name: value.to(dtype) for name, value in sd.items()})
        except RemoteException as exc:
            fail(
                f"NeuralNgramLM({V}, {n}, {m}, {h}) could not load a state dict with the parameters "
                f"{ {k: list(v.shape) for k, v in sd.items()} }: {exc.type_name}: {exc.remote_message[:300]}",
                diagnosis=lazy(shape_mistake, model.state_dict(), V, n, m, h),
            )
    return model


def logits_of(model, context, what):
    """Call the model and check that it returned a tensor of logits [B, V]."""
    __tracebackhide__ = True
    with diagnosing(lazy(raised_on_int32, model, context)):
        got = model(context)
    check(hasattr(got, "shape"), f"{what} should return a tensor of logits, got {describe_value(got)}")
    return got


def raised_on_int32(model, context):
    """Why the model raised, when it is the int32 ids (int64 ones work), or ''."""
    if context.dtype != torch.int32:
        return ""
    try:
        model(context.long())
    except RemoteException:
        return ""
    return "int64 ids work but int32 ids raise: index the embedding with the ids as given (nn.Embedding takes both)."


def check_logits(got, sd, context, *, what, dtype=F64, seed=None, inputs=""):
    __tracebackhide__ = True
    V, m = sd["embed.weight"].shape
    h = sd["hidden.weight"].shape[0]
    inputs = inputs or describe(context=context) + f", vocab_size={V}, embed_dim={m}, hidden_dim={h}"
    check_close(
        got,
        oracle(sd, context).to(dtype),
        what=what,
        kind="model",
        inputs=inputs,
        seed=seed,
        diagnosis=lazy(diagnose, got, sd, context),
    )


def shape_mistake(got, V, n, m, h):
    """The mistake a state dict's names and shapes show, or ''."""
    got = {name: list(getattr(value, "shape", [])) for name, value in got.items()}
    want = shapes(V, n, m, h)
    if got.get("hidden.weight") == [h, m] and n > 1:
        return (
            "hidden takes embed_dim inputs, as if the context's embeddings were summed or averaged instead of "
            "concatenated: Bengio's model concatenates them in context order, so hidden is "
            "nn.Linear(context_size * embed_dim, hidden_dim) and word order counts."
        )
    if got.get("embed.weight") == [V, h] and got.get("hidden.weight") == [m, n * h]:
        return (
            "embed_dim and hidden_dim are swapped: embed is nn.Embedding(vocab_size, embed_dim) and hidden is "
            "nn.Linear(context_size * embed_dim, hidden_dim)."
        )
    if "hidden.weight" in got and "hidden.bias" not in got:
        return (
            "hidden has no bias: use nn.Linear(context_size * embed_dim, hidden_dim), with its bias "
            "(d in Bengio's a = tanh(H e + d))."
        )
    extra = sorted(set(got) - set(want))
    if any(got[name] == [V, n * m] for name in extra):
        return (
            "There is an extra layer from the embeddings to the output (Bengio's optional direct connections W e): "
            "this model leaves them out, logits = out(tanh(hidden(e)))."
        )
    return ""


# ---------------------------------------------------------------- parameters


@public
def test_parameter_names_and_shapes(sub):
    """NeuralNgramLM(7, 3, 4, 5) holds embed.weight [7, 4], hidden [5, 12] + [5], out [7, 5] + [7], float32"""
    V, n, m, h = 7, 3, 4, 5
    sd = sub.NeuralNgramLM(V, n, m, h).state_dict()
    check(isinstance(sd, dict), f"NeuralNgramLM(7, 3, 4, 5).state_dict() should be a dict, got {describe_value(sd)}")
    want = shapes(V, n, m, h)
    got = {name: list(getattr(value, "shape", [])) for name, value in sd.items()}
    why = lazy(shape_mistake, sd, V, n, m, h)
    check(
        sorted(got) == sorted(want),
        f"NeuralNgramLM(vocab_size=7, context_size=3, embed_dim=4, hidden_dim=5) should have exactly the "
        f"parameters {sorted(want)}, got {sorted(got)}. embed is an nn.Embedding, hidden and out are nn.Linear.",
        diagnosis=why,
    )
    for name, shape in want.items():
        check(
            got[name] == shape,
            f"NeuralNgramLM(vocab_size=7, context_size=3, embed_dim=4, hidden_dim=5).{name} should have shape "
            f"{shape}, got {got[name]}",
            diagnosis=why,
        )
        dtype = str(sd[name].dtype).removeprefix("torch.")
        check(dtype == "float32", f"NeuralNgramLM(7, 3, 4, 5).{name} should be float32 by default, got {dtype}")


# ---------------------------------------------------------------- values


@public
def test_hand_computed_example(sub):
    """The prompt's example: V=4, context_size=2, embed_dim=2, hidden_dim=2, contexts (0, 2) and (2, 0)"""
    sd = {
        "embed.weight": torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, 0.0]], dtype=F64),
        "hidden.weight": torch.tensor([[1.0, 0.0, 0.0, 1.0], [0.0, 1.0, 1.0, 0.0]], dtype=F64),
        "hidden.bias": torch.zeros(2, dtype=F64),
        "out.weight": torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [-1.0, -1.0]], dtype=F64),
        "out.bias": torch.zeros(4, dtype=F64),
    }
    model = new_model(sub, 4, 2, 2, 2, sd)
    context = torch.tensor([[0, 2], [2, 0]])
    a, b = math.tanh(2.0), math.tanh(1.0)
    want = torch.tensor([[a, b, a + b, -a - b], [b, a, a + b, -a - b]], dtype=F64)
    got = logits_of(model, context, "model(context)")
    check_close(
        got,
        want,
        what="the logits of the prompt's example",
        kind="model",
        inputs="context [[0, 2], [2, 0]] (int64) and the prompt's weights",
        diagnosis=lazy(diagnose, got, sd, context),
    )


@pytest.mark.parametrize(
    "V, n, m, h, B",
    [(11, 3, 4, 6, 5), (5, 1, 3, 4, 3), (9, 4, 2, 3, 1), (6, 2, 5, 5, 8)],
    ids=["n3", "n1", "B1", "m_equals_h"],
)
def test_seeded_weights(sub, V, n, m, h, B):
    """Logits equal out(tanh(hidden(concat(embed(context))))) with seeded float64 weights"""
    seed = 10 * V + n
    sd = seeded_weights(V, n, m, h, seed, scale=2.0)
    model = new_model(sub, V, n, m, h, sd)
    context = contexts(B, n, V, seed + 1)
    check_logits(logits_of(model, context, "model(context)"), sd, context, what="model(context)", seed=seed)


def test_repeated_tokens_and_order(sub):
    """Contexts that repeat a token or hold the same tokens in another order get their own logits"""
    V, n, m, h = 6, 3, 3, 4
    sd = seeded_weights(V, n, m, h, seed=20, scale=2.0)
    model = new_model(sub, V, n, m, h, sd)
    context = torch.tensor([[1, 1, 1], [1, 2, 3], [3, 2, 1], [2, 3, 1], [0, 5, 0]])
    check_logits(logits_of(model, context, "model(context)"), sd, context, what="model(context)", seed=20)


def test_own_initial_weights(sub):
    """A freshly built float32 model's logits equal the oracle's with the model's own initial weights"""
    V, n, m, h = 8, 3, 5, 7
    model = sub.NeuralNgramLM(V, n, m, h)
    sd = {name: value.double() for name, value in model.state_dict().items()}
    got = {name: list(value.shape) for name, value in sd.items()}
    check(
        got == shapes(V, n, m, h),
        f"NeuralNgramLM(8, 3, 5, 7) should have the parameters {shapes(V, n, m, h)}, got {got}",
        diagnosis=lazy(shape_mistake, sd, V, n, m, h),
    )
    context = contexts(6, n, V, seed=31)
    got = logits_of(model, context, "NeuralNgramLM(8, 3, 5, 7)(context)")
    check_logits(got, sd, context, what="NeuralNgramLM(8, 3, 5, 7)(context), float32", dtype=torch.float32)


def test_int32_context(sub):
    """int32 ids give the same logits as int64 ones"""
    V, n, m, h = 7, 2, 3, 4
    sd = seeded_weights(V, n, m, h, seed=40)
    model = new_model(sub, V, n, m, h, sd)
    context = contexts(4, n, V, seed=41, dtype=torch.int32)
    check_logits(logits_of(model, context, "model(int32 context)"), sd, context, what="model(int32 context)", seed=40)


@settings(
    derandomize=True,
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    report_multiple_bugs=False,
)
@given(
    V=st.integers(2, 12),
    n=st.integers(1, 5),
    m=st.integers(1, 5),
    h=st.integers(1, 6),
    B=st.integers(1, 6),
    seed=st.integers(0, 10_000),
)
def test_random_sizes(sub, V, n, m, h, B, seed):
    """Random vocabulary, context, embedding, hidden and batch sizes"""
    sd = seeded_weights(V, n, m, h, seed, scale=2.0)
    model = new_model(sub, V, n, m, h, sd)
    context = contexts(B, n, V, seed + 1)
    check_logits(logits_of(model, context, "model(context)"), sd, context, what="model(context)", seed=seed)


# ---------------------------------------------------------------- gradients


def oracle_grads(sd, context, upstream):
    """d<upstream, logits>/d every parameter, through the float64 oracle."""
    leaves = {name: value.double().clone().requires_grad_(True) for name, value in sd.items()}
    torch.autograd.backward(oracle(leaves, context), upstream)
    return {name: leaf.grad for name, leaf in leaves.items()}


def test_gradients_match_oracle(sub):
    """Gradients of <g, logits> w.r.t. every parameter, float64; a token used twice collects both"""
    V, n, m, h = 6, 3, 4, 5
    sd = seeded_weights(V, n, m, h, seed=50, scale=2.0)
    model = new_model(sub, V, n, m, h, sd)
    context = torch.tensor([[0, 1, 2], [2, 2, 5], [4, 1, 0], [3, 3, 3]])
    upstream = torch.randn(4, V, generator=torch.Generator().manual_seed(51), dtype=F64)
    result = sub.grad_call(model, context, grad_outputs=upstream)
    want = oracle_grads(sd, context, upstream)
    inputs = describe(context=context) + f", vocab_size={V}, embed_dim={m}, hidden_dim={h}, upstream gradient [4, {V}]"
    for name, expected in want.items():
        got = result.param_grads.get(name)
        check(
            got is not None,
            f"no gradient reached the parameter {name} after a backward pass through model(context)",
            diagnosis=f"{name} gets no gradient: it is frozen (requires_grad=False), detached or unused in forward; "
            "every parameter is trained.",
        )
        check_close(
            got,
            expected,
            what=f"the gradient of {name}",
            kind="grad",
            inputs=inputs,
            seed=50,
            diagnosis=lazy(diagnose, result.output, sd, context),
        )


# ---------------------------------------------------------------- hygiene


def test_dtype_follows_the_model(sub):
    """A model converted with .double() returns float64 logits; the default model float32"""
    V, n, m, h = 5, 2, 3, 4
    context = contexts(3, n, V, seed=60)
    for dtype in (F64, torch.float32):
        got = logits_of(sub.NeuralNgramLM(V, n, m, h).to(dtype), context, "model(context)")
        name = str(dtype).removeprefix("torch.")
        got_name = str(got.dtype).removeprefix("torch.")
        check(got_name == name, f"a {name} NeuralNgramLM(5, 2, 3, 4) should return {name} logits, got {got_name}")
        check(
            list(got.shape) == [3, V],
            f"NeuralNgramLM(5, 2, 3, 4)(context of shape [3, 2]) should return logits of shape [3, 5], "
            f"got {list(got.shape)}",
        )


def test_leaves_context_and_rng_unchanged(sub):
    """forward does not modify the context in place and draws no random numbers"""
    V, n, m, h = 6, 3, 3, 4
    model = new_model(sub, V, n, m, h, seeded_weights(V, n, m, h, seed=70))
    context = contexts(4, n, V, seed=71)
    before = sub.rng_digest()
    model(context)
    check_unchanged_inputs(sub, ["context"])
    check(
        sub.rng_digest() == before,
        "model(context) changed the global random number generator's state: forward should be deterministic",
        diagnosis="forward draws random numbers (dropout or a random init in forward?): the model is a "
        "deterministic function of its weights.",
    )


# ---------------------------------------------------------------- errors


def unvalidated(what):
    """The diagnosis when a badly shaped context is not rejected with a ValueError."""
    return (
        f"the context's shape is not validated: raise ValueError unless it is [B, context_size] ({what}); "
        "a reshape or the matrix product fails later with another error, or not at all."
    )


@pytest.mark.parametrize(
    "shape, what",
    [((3,), "1-D"), ((2, 3, 3), "3-D"), ((4, 2), "too narrow"), ((4, 5), "too wide")],
    ids=["1d", "3d", "narrow", "wide"],
)
def test_bad_context_raises_value_error(sub, shape, what):
    """A context that is not [B, context_size] -> ValueError"""
    model = sub.NeuralNgramLM(6, 3, 2, 4)
    context = torch.zeros(shape, dtype=torch.int64)
    expect_raises(
        ValueError,
        model,
        context,
        call=f"NeuralNgramLM(6, context_size=3, 2, 4)(context of shape {list(shape)})",
        diagnosis=unvalidated(what),
    )


# ---------------------------------------------------------------- training

TEXT = (
    "the cat sat on the mat . the dog sat on the log . a cat saw the dog . "
    "the dog saw a cat on the mat . a dog sat on a log ."
)
STEPS, LR, MARGIN = 200, 1e-2, 0.5


def corpus():
    """Every (context of 2 tokens, next token) pair of TEXT, and the next tokens' entropy in nats."""
    words = TEXT.split()
    vocab = sorted(set(words))
    ids = torch.tensor([vocab.index(w) for w in words])
    pairs = torch.stack([ids[:-2], ids[1:-1]], dim=1)  # (N, 2)
    targets = ids[2:]  # (N,)
    p = torch.bincount(targets, minlength=len(vocab)).double()
    p = p[p > 0] / p.sum()
    return len(vocab), pairs, targets, float(-(p * p.log()).sum())


class Adam:
    """torch.optim.Adam's update (betas 0.9, 0.999, eps 1e-8), run in the judge on the
    parameters the learner's model holds (torch.optim would import torch._dynamo, ~0.6 s)."""

    def __init__(self, params, lr):
        self.params, self.lr, self.t = params, lr, 0
        self.m = {k: torch.zeros_like(v) for k, v in params.items()}
        self.v = {k: torch.zeros_like(v) for k, v in params.items()}

    def step(self, grads):
        self.t += 1
        for name, g in grads.items():
            if g is None or name not in self.params:
                continue
            g = g.to(self.params[name].dtype)
            self.m[name].mul_(0.9).add_(g, alpha=0.1)
            self.v[name].mul_(0.999).addcmul_(g, g, value=0.001)
            m_hat = self.m[name] / (1 - 0.9**self.t)
            v_hat = self.v[name] / (1 - 0.999**self.t)
            self.params[name] -= self.lr * m_hat / (v_hat.sqrt() + 1e-8)


def nll(log_probs, targets):
    """The mean negative log-likelihood of ``targets`` under ``log_probs`` [N, V], as a float."""
    return float(-log_probs.double().gather(1, targets[:, None]).mean())


def zero_init(sd):
    """The diagnosis when the initial weights are all zeros, or ''."""
    zero = [name for name, value in sd.items() if name.endswith("weight") and not bool(value.any())]
    if {"hidden.weight", "out.weight"} <= set(zero) or len(zero) == len([n for n in sd if n.endswith("weight")]):
        return (
            f"The model starts with {', '.join(sorted(zero))} all zeros: then no gradient reaches the hidden "
            "layer (and all its units stay equal), so only out.bias learns the unigram distribution. Keep "
            "nn.Embedding's and nn.Linear's random initialisation."
        )
    return ""


def test_learns_the_toy_corpus(sub):
    """seeds 0, 1, 2: NeuralNgramLM(V, 2, 16, 32), Adam(lr=1e-2), 200 full-batch steps: loss >= 0.5 nats below H"""
    V, pairs, targets, entropy = corpus()
    N = len(targets)
    upstream = -torch.nn.functional.one_hot(targets, V).float() / N  # d mean NLL / d log-probs
    where = (
        f"torch.manual_seed(seed); NeuralNgramLM({V}, 2, 16, 32); Adam(lr={LR}) on the mean cross-entropy of all "
        f"{N} (context, next token) pairs of a toy corpus of {len(TEXT.split())} words"
    )
    for seed in (0, 1, 2):
        sub.seed(seed)  # the worker's torch.manual_seed(seed): the learner's own initialisation
        model = sub.NeuralNgramLM(V, 2, 16, 32)
        initial = {name: value.clone() for name, value in model.state_dict().items()}
        # net(params, context) = the model's log-probabilities [N, V] at the weights ``params`` (grader code)
        net = sub.make_fixture("LogProbs", model)
        params = {name: value.float() for name, value in initial.items() if value.is_floating_point()}
        first = logits_of(model, pairs, f"NeuralNgramLM({V}, 2, 16, 32)(context)")
        check(
            list(first.shape) == [N, V],
            f"NeuralNgramLM({V}, 2, 16, 32)(context of shape [{N}, 2]) should return logits [{N}, {V}], "
            f"got {list(first.shape)}",
        )
        adam, losses = Adam(params, LR), []
        for _ in range(STEPS):  # one round trip a step: the loss and its gradient at the weights ``params``
            result = sub.grad_call(net, params, pairs, wrt=[(0, name) for name in params], grad_outputs=upstream)
            losses.append(nll(result.output, targets))
            adam.step({name: result.input_grads.get((0, name)) for name in params})  # updates ``params``
        final = nll(net(params, pairs), targets)
        check(
            math.isfinite(final) and final <= entropy - MARGIN,
            f"after {STEPS} steps with seed {seed} the loss is {final:.4f} nats (it started at {losses[0]:.4f}); "
            f"it should be at most {entropy - MARGIN:.4f}, {MARGIN} nats below the entropy of the next tokens "
            f"({entropy:.4f} nats, what predicting the unigram distribution reaches). Training: {where}.",
            diagnosis=lazy(zero_init, initial),
        )
