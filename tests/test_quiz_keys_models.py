"""The answer keys of quiz-sampling, quiz-transformer and quiz-llm-families, checked by code.

Each question's key must be right: numeric answers are recomputed here from the numbers in
the question's text, true/false claims are demonstrated numerically where that is possible
(with fixed seeds), and conceptual keys are asserted with a one-line reason. Every question
of the three quizzes must be covered by a check (``test_every_question_has_a_key_check``).
The content rules every quiz follows are in tests/test_quiz_keys_foundations.py.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from torch import nn

from tests.quizkeys import KeyChecks, accepts, assert_numeric, label_of

S, T, F = "quiz-sampling", "quiz-transformer", "quiz-llm-families"
key = KeyChecks(S, T, F)


@pytest.mark.parametrize("slug, qid", key.cases())
def test_answer_key(slug, qid):
    key.run(slug, qid)


def test_every_question_has_a_key_check():
    key.assert_complete()


# ---------------------------------------------------------------- helpers


def plain(text: str) -> str:
    """Question text with Unicode minus signs and superscript exponents made parseable."""
    return text.replace("−", "-").replace("²", "2").replace("³", "3")


def bracket_list(text: str) -> list[float]:
    """The numbers of the first [a, b, c] list in ``text``."""
    match = re.search(r"\[([^\]]+)\]", plain(text))
    assert match, f"no [..] list in {text!r}"
    return [float(v) for v in match.group(1).split(",")]


def number_after(text: str, prefix: str) -> float:
    """The number right after ``prefix`` in ``text`` (e.g. 'T = ' -> 0.5)."""
    match = re.search(re.escape(prefix) + r"\s*(-?\d+(?:\.\d+)?)", plain(text))
    assert match, f"no number after {prefix!r} in {text!r}"
    return float(match.group(1))


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def seeded_mha(d_model: int, heads: int, seed: int) -> nn.MultiheadAttention:
    """A MultiheadAttention whose weights come from a private generator (global RNG untouched)."""
    with torch.random.fork_rng():
        mha = nn.MultiheadAttention(d_model, heads, batch_first=True)
    g = gen(seed)
    with torch.no_grad():
        for p in mha.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    return mha.eval()


def softmax_t(logits, temperature: float) -> torch.Tensor:
    return torch.softmax(torch.as_tensor(logits, dtype=torch.float64) / temperature, dim=-1)


def entropy(p: torch.Tensor) -> float:
    return float(-(p * torch.log(p.clamp_min(1e-300))).sum())


def nucleus(probs: torch.Tensor, p: float) -> list[int]:
    """Top-p: ids of the shortest descending prefix whose mass reaches p (crossing token kept)."""
    order = torch.argsort(probs, descending=True, stable=True)
    cum = torch.cumsum(probs[order], 0)
    n = int((cum < p).sum()) + 1
    return sorted(order[: min(n, len(probs))].tolist())


def top_k_ids(logits: torch.Tensor, k: int) -> list[int]:
    """Top-k: every id whose logit is >= the k-th largest (ties at the boundary kept)."""
    kth = torch.topk(logits, k).values[-1]
    return torch.nonzero(logits >= kth).flatten().tolist()


def causal_blocked(t: int) -> torch.Tensor:
    """torch's attn_mask convention: True = may NOT attend (the future)."""
    return torch.triu(torch.ones(t, t, dtype=torch.bool), diagonal=1)


# ---------------------------------------------------------------- quiz-sampling


@key(S, "greedy_vs_sampling")
def greedy_is_deterministic_and_locally_optimal(q):
    """Greedy misses the most probable sequence."""
    first = torch.tensor([0.6, 0.4])
    second = {0: torch.tensor([0.34, 0.33, 0.33]), 1: torch.tensor([0.9, 0.05, 0.05])}

    def greedy():
        a = int(torch.argmax(first))
        return a, int(torch.argmax(second[a]))

    best = max(((a, b) for a in range(2) for b in range(3)), key=lambda s: float(first[s[0]] * second[s[0]][s[1]]))
    assert greedy() == greedy() == (0, 0)  # deterministic
    assert best == (1, 0) and float(first[1] * second[1][0]) > float(first[0] * second[0][0])
    assert q.answer == label_of(q, "argmax token at every step")


@key(S, "temperature_limits")
def temperature_limits(q):
    """T->0 one-hot, T->inf uniform, order kept."""
    logits = torch.randn(50, generator=gen(0), dtype=torch.float64) * 3
    cold, hot, one = softmax_t(logits, 1e-3), softmax_t(logits, 1e4), softmax_t(logits, 1.0)
    temps = [0.1, 0.3, 0.5, 1.0, 2.0, 5.0, 20.0]
    truth = {
        "T → 0⁺": float(cold[torch.argmax(logits)]) > 0.999,
        "T → ∞": torch.allclose(hot, torch.full_like(hot, 1 / 50), atol=1e-3),
        "T = 1 leaves": torch.allclose(one, torch.softmax(logits, -1)),
        "can change which token": any(
            int(torch.argmax(softmax_t(logits, t))) != int(torch.argmax(logits)) for t in temps
        ),
        "Lowering T raises": any(
            entropy(softmax_t(logits, a)) > entropy(softmax_t(logits, b)) for a, b in zip(temps, temps[1:])
        ),
    }
    assert sorted(q.answer) == sorted(label_of(q, fragment) for fragment, true in truth.items() if true)


@key(S, "temperature_prob")
def temperature_probability(q):
    """softmax(z / T) of the question's logits."""
    logits, t = bracket_list(q.text), number_after(q.text, "T = ")
    assert (logits, t) == ([2.0, 1.0, 0.0, -1.0], 0.5)
    p = float(softmax_t(logits, t)[1])
    wrong = (float(softmax_t(logits, 1.0)[1]), float(softmax_t([z * t for z in logits], 1.0)[1]))
    assert_numeric(q, p, wrong)


@key(S, "top_k_ties")
def top_k_keeps_ties(q):
    """Top-k with a tie at the k-th value."""
    logits, k = torch.tensor(bracket_list(q.text)), int(number_after(q.text, "k = "))
    kept = top_k_ids(logits, k)
    assert len(kept) > k  # the tie keeps an extra token
    assert sorted(q.answer) == [label_of(q, f"id {i} ") for i in kept]


@key(S, "nucleus_size")
def nucleus_size(q):
    """Top-p keeps the token that crosses p."""
    probs, p = torch.tensor(bracket_list(q.text), dtype=torch.float64), number_after(q.text, "p = ")
    assert math.isclose(float(probs.sum()), 1.0)
    kept = nucleus(probs, p)
    below = int((torch.cumsum(torch.sort(probs, descending=True).values, 0) <= p).sum())  # drops the crossing token
    assert_numeric(q, len(kept), wrong=(below,))
    assert float(probs[kept].sum()) >= p


@key(S, "top_p_crossing")
def top_p_kept_mass_reaches_p(q):
    """Kept mass is always >= p."""
    g = gen(1)
    for _ in range(200):
        probs = torch.softmax(torch.randn(30, generator=g, dtype=torch.float64) * 2, -1)
        p = float(torch.rand((), generator=g, dtype=torch.float64))
        assert float(probs[nucleus(probs, p)].sum()) >= p
    peaked = torch.tensor([0.95, 0.03, 0.02], dtype=torch.float64)
    assert nucleus(peaked, 0.9) == [0]  # "at most p" would keep nothing at all
    assert q.answer is False


@key(S, "filter_order")
def filter_order(q):
    """Model, temperature, top-k, top-p, draw."""
    expected = ["Run the model", "temperature", "top-k filter", "top-p filter", "Draw one id"]
    assert q.answer == [label_of(q, fragment) for fragment in expected]
    # why the order matters: temperature never changes the top-k set but does change the nucleus
    logits = torch.log(torch.tensor([0.4, 0.3, 0.2, 0.1], dtype=torch.float64))
    for t in (0.3, 1.0, 3.0):
        assert top_k_ids(logits / t, 2) == top_k_ids(logits, 2)
    assert nucleus(softmax_t(logits, 1.0), 0.6) != nucleus(softmax_t(logits, 0.3), 0.6)
    # and top-p measured after top-k (renormalised over the k survivors) keeps fewer tokens
    after_k = torch.full_like(logits, -math.inf)
    after_k[top_k_ids(logits, 2)] = logits[top_k_ids(logits, 2)]
    assert nucleus(torch.softmax(after_k, -1), 0.5) == [0]
    assert nucleus(torch.softmax(logits, -1), 0.5) == [0, 1]


@key(S, "degeneration")
def greedy_falls_into_a_loop(q):
    """Deterministic decoding ends in a cycle."""
    v = 50
    bigram = torch.randn(v, v, generator=gen(2))  # a toy model whose context is the last token

    def greedy(start: int, steps: int) -> list[int]:
        seq = [start]
        for _ in range(steps):
            seq.append(int(torch.argmax(bigram[seq[-1]])))
        return seq

    seq = greedy(0, 4 * v)
    assert seq == greedy(0, 4 * v)  # no randomness: same loop every time
    tail = seq[v:]  # after V steps the state must have repeated (pigeonhole)
    period = next(p for p in range(1, v + 1) if tail[p] == tail[0])
    assert all(tail[i] == tail[i + period] for i in range(len(tail) - period))
    assert q.answer == label_of(q, "self-reinforcing loop")


@key(S, "seeded_generator")
def seeded_generator_is_reproducible_and_private(q):
    """Same seed, same draws; global RNG untouched."""
    probs = torch.softmax(torch.arange(10, dtype=torch.float64), -1)
    before = torch.get_rng_state()
    g = gen(1234)
    first = [int(torch.multinomial(probs, 1, generator=g)) for _ in range(50)]
    assert torch.equal(torch.get_rng_state(), before)
    with torch.random.fork_rng():
        torch.manual_seed(99)
        torch.rand(7)  # whatever the global RNG does in between
        g = gen(1234)
        second = [int(torch.multinomial(probs, 1, generator=g)) for _ in range(50)]
    assert first == second
    assert q.answer is True


@key(S, "nucleus_name")
def nucleus_name(q):
    """Nucleus sampling; 'top-p' itself is not the answer."""
    assert all(accepts(q, a) for a in ("nucleus", "Nucleus sampling.", "nucleus-sampling"))
    assert not accepts(q, "top-p") and not accepts(q, "top-k")


# ---------------------------------------------------------------- quiz-transformer


@key(T, "why_sqrt_dk")
def dot_product_variance_grows_with_dk(q):
    """Var(q.k) = d_k; scaling restores 1."""
    g = gen(3)
    for d in (16, 64, 256):
        qs, ks = torch.randn(20000, d, generator=g), torch.randn(20000, d, generator=g)
        dots = (qs * ks).sum(-1)
        assert abs(float(dots.var()) / d - 1) < 0.1
        assert abs(float((dots / math.sqrt(d)).var()) - 1) < 0.1
    # unscaled scores saturate the softmax: one key takes nearly all the weight
    d = 512
    scores = torch.randn(2000, 16, d, generator=g) @ torch.randn(d, generator=g)
    top_raw = torch.softmax(scores, -1).max(-1).values.mean()
    top_scaled = torch.softmax(scores / math.sqrt(d), -1).max(-1).values.mean()
    assert top_raw > 0.9 > 0.6 > top_scaled
    assert q.answer == label_of(q, "has variance d_k")


@key(T, "mask_after_softmax")
def masking_after_softmax_is_wrong(q):
    """Zeroing after softmax != -inf before."""
    t = 5
    scores = torch.randn(t, t, generator=gen(4), dtype=torch.float64)
    future = causal_blocked(t)
    before = torch.softmax(scores.masked_fill(future, -math.inf), -1)
    after = torch.softmax(scores, -1).masked_fill(future, 0.0)
    assert torch.allclose(before.sum(-1), torch.ones(t, dtype=torch.float64))
    assert (after.sum(-1)[:-1] < 1 - 1e-6).all() and not torch.allclose(before, after)
    assert torch.allclose(after / after.sum(-1, keepdim=True), before)  # renormalising = masking before
    assert q.answer is False


@key(T, "causal_mask")
def causal_mask(q):
    """Lower-triangular; no peeking at the future."""
    t, d = 6, 8
    allowed = ~causal_blocked(t)
    i, j = torch.meshgrid(torch.arange(t), torch.arange(t), indexing="ij")
    assert torch.equal(allowed, j <= i) and torch.equal(allowed, torch.tril(torch.ones(t, t, dtype=torch.bool)))
    assert int(allowed[0].sum()) == 1  # position 0 attends to itself: e is false
    mha = seeded_mha(d, 2, seed=5)
    x = torch.randn(1, t, d, generator=gen(6))
    x2 = x.clone()
    x2[:, 3:] = torch.randn(1, t - 3, d, generator=gen(7))
    with torch.no_grad():
        out = mha(x, x, x, attn_mask=causal_blocked(t))[0]
        out2 = mha(x2, x2, x2, attn_mask=causal_blocked(t))[0]
    assert torch.allclose(out[:, :3], out2[:, :3], atol=1e-6)  # every prefix is predicted without its future
    # c is false: an encoder reads the whole source at once and needs only a padding mask
    expected = ["itself included", "lower-triangular", "in one forward pass"]
    assert sorted(q.answer) == sorted(label_of(q, fragment) for fragment in expected)


@key(T, "mha_params")
def mha_parameter_count(q):
    """4 d^2 + 4 d, whatever the number of heads."""
    d, heads = int(number_after(q.text, "d_model = ")), int(number_after(q.text, "and"))
    assert (d, heads) == (512, 8)

    def count(h: int) -> int:
        with torch.random.fork_rng():
            return sum(p.numel() for p in nn.MultiheadAttention(d, h).parameters())

    n = count(heads)
    assert n == count(1) == count(16) == 4 * d * d + 4 * d
    assert_numeric(q, n, wrong=(3 * (d * d + d), 4 * d * d))


@key(T, "attention_cost")
def attention_cost_is_quadratic_in_length(q):
    """Multiply-adds of QK^T and weights @ V scale as T^2 d."""

    def flops(t: int, d: int) -> int:
        """Run attention and count 2 FLOPs per multiply-add of each matmul, from its operands' shapes."""
        count = 0

        def matmul(a, b):
            nonlocal count
            (m, k), (k2, n) = a.shape, b.shape
            assert k == k2
            count += 2 * m * k * n
            return a @ b

        x = torch.randn(t, d, generator=gen(20))
        weights = torch.softmax(matmul(x, x.T) / math.sqrt(d), -1)  # (T, T)
        assert matmul(weights, x).shape == (t, d)
        return count

    base = flops(64, 32)
    assert base == 2 * (2 * 64 * 64 * 32)  # two matmuls, 2 FLOPs per multiply-add
    assert flops(128, 32) == 4 * base and flops(64, 64) == 2 * base
    assert q.answer == label_of(q, "O(T² · d)")


@key(T, "permutation_equivariance")
def attention_without_positions_is_permutation_equivariant(q):
    """Shuffle in, same shuffle out."""
    t, d = 7, 16
    mha = seeded_mha(d, 4, seed=8)
    x = torch.randn(1, t, d, generator=gen(9))
    perm = torch.randperm(t, generator=gen(10))

    def attend(h):
        with torch.no_grad():
            return mha(h, h, h, need_weights=False)[0]

    assert torch.allclose(attend(x[:, perm]), attend(x)[:, perm], atol=1e-5)
    pos = torch.arange(t, dtype=torch.float32)[:, None] / 10000 ** (torch.arange(0, d, 2) / d)
    pe = torch.stack([pos.sin(), pos.cos()], -1).reshape(t, d)  # sinusoidal positions break the symmetry
    assert not torch.allclose(attend(x[:, perm] + pe), attend(x + pe)[:, perm], atol=1e-3)
    assert q.answer is True


@key(T, "cross_attention")
def cross_attention_queries_come_from_the_decoder(q):
    """One output per target position."""
    d, src, tgt = 16, 9, 4
    mha = seeded_mha(d, 4, seed=11)
    encoder_out, decoder_states = torch.randn(2, src, d), torch.randn(2, tgt, d)
    with torch.no_grad():
        out, weights = mha(decoder_states, encoder_out, encoder_out)
    assert out.shape == (2, tgt, d) and weights.shape == (2, tgt, src)  # rows = decoder positions
    assert q.answer == label_of(q, "Queries come from the decoder")


@key(T, "kv_cache_memory")
def kv_cache_memory(q):
    """2 x layers x batch x tokens x d_model x bytes."""
    text = plain(q.text)
    layers = int(number_after(text, "has"))
    d = int(number_after(text, "d_model = "))
    batch = int(number_after(text, "batch of"))
    tokens = int(number_after(text, "sequences of"))
    assert (layers, d, batch, tokens) == (24, 2048, 4, 2048)
    heads = 16  # any split of d_model into heads gives the same size
    cache = [
        torch.empty(batch, heads, tokens, d // heads, dtype=torch.float16, device="meta")
        for _ in range(layers)
        for _kv in ("k", "v")
    ]
    gib = sum(c.numel() * c.element_size() for c in cache) / 2**30
    assert_numeric(q, gib, wrong=(gib / 2, gib * 2))


@key(T, "attention_steps")
def attention_steps_in_order_reproduce_torch(q):
    """Running the key's order equals nn.MultiheadAttention."""
    b, t, d, h = 2, 5, 12, 3
    mha = seeded_mha(d, h, seed=12)
    x = torch.randn(b, t, d, generator=gen(13))
    future = causal_blocked(t)

    def heads(z):  # (B, T, d) -> (B, H, T, d/H)
        return z.reshape(b, t, h, d // h).transpose(1, 2)

    def project(s):
        s["q"], s["k"], s["v"] = (heads(z) for z in (x @ mha.in_proj_weight.T + mha.in_proj_bias).chunk(3, -1))

    steps = {
        "Project": project,
        "QKᵀ": lambda s: s.update(cur=s["q"] @ s["k"].transpose(-1, -2) / math.sqrt(d // h)),
        "−∞": lambda s: s.update(cur=s["cur"].masked_fill(future, -math.inf)),
        "softmax": lambda s: s.update(cur=torch.softmax(s["cur"], -1)),
        "weighted sum": lambda s: s.update(cur=s["cur"] @ s["v"]),
        "Concatenate": lambda s: s.update(cur=mha.out_proj(s["cur"].transpose(1, 2).reshape(b, t, d))),
    }
    by_label = {label_of(q, fragment): step for fragment, step in steps.items()}

    def run(order):
        state = {}
        with torch.no_grad():
            for label in order:
                by_label[label](state)
        return state["cur"]

    with torch.no_grad():
        expected = mha(x, x, x, attn_mask=future, need_weights=False)[0]
    assert torch.allclose(run(q.answer), expected, atol=1e-5)
    swapped = list(q.answer)
    i, j = swapped.index(label_of(q, "−∞")), swapped.index(label_of(q, "softmax"))
    swapped[i], swapped[j] = swapped[j], swapped[i]
    assert not torch.allclose(run(swapped), expected, atol=1e-3)  # mask after softmax is wrong


@key(T, "decoder_only")
def decoder_only(q):
    """GPT keeps the decoder stack."""
    assert all(accepts(q, a) for a in ("decoder", "Decoder-only", "the decoder."))
    assert not accepts(q, "encoder") and not accepts(q, "encoder decoder")


# ---------------------------------------------------------------- quiz-llm-families


def bert_mask(n: int, g: torch.Generator, p: float = 0.15) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's 80/10/10 rule on n positions: (chosen, became_mask) boolean tensors."""
    chosen = torch.rand(n, generator=g) < p
    roll = torch.rand(n, generator=g)
    return chosen, chosen & (roll < 0.8)


@key(F, "objectives")
def objectives(q):
    """GPT causal LM, BERT MLM+NSP, T5 span corruption."""
    # from the papers: GPT (Radford 2018), BERT (Devlin 2019, MLM + NSP), T5 (Raffel 2020, span corruption)
    assert q.answer == label_of(q, "GPT: causal (next-token)")


@key(F, "bert_masks_all")
def bert_does_not_mask_every_chosen_token(q):
    """Only ~80% of the chosen tokens become [MASK]."""
    chosen, masked = bert_mask(200_000, gen(14))
    share = float(masked.sum() / chosen.sum())
    assert 0.78 < share < 0.82
    assert q.answer is False


@key(F, "mask_count")
def expected_mask_count(q):
    """512 x 0.15 x 0.8, also by simulation."""
    text = plain(q.text)
    length = int(number_after(text, "of a"))
    assert (length, "15%", "80%") == (512, *re.findall(r"\d+%", text)[:2])
    expected = length * 0.15 * 0.8
    assert_numeric(q, expected, wrong=(length * 0.8, length * 0.15))
    g, counts = gen(15), []
    for _ in range(2000):
        counts.append(int(bert_mask(length, g)[1].sum()))
    sigma = math.sqrt(length * 0.12 * 0.88 / len(counts))
    assert abs(np.mean(counts) - q.answer) < 5 * sigma


@key(F, "bidirectional")
def which_models_see_both_sides(q):
    """Without a causal mask, outputs depend on later tokens."""
    causal = {"BERT": False, "GPT-2": True, "T5's encoder": False, "T5's decoder": True, "GPT-3": True}
    t, d = 5, 8
    mha = seeded_mha(d, 2, seed=16)

    def sees_right_context(is_causal: bool) -> bool:
        x = torch.randn(1, t, d, generator=gen(17), requires_grad=True)
        out = mha(x, x, x, attn_mask=causal_blocked(t) if is_causal else None, need_weights=False)[0]
        (grad,) = torch.autograd.grad(out[0, 1].sum(), x)
        return bool(grad[0, 2:].abs().sum() > 0)  # does position 1 depend on positions 2, 3, ...?

    both_sides = [label_of(q, name) for name, is_causal in causal.items() if sees_right_context(is_causal)]
    assert [q.choices[q.labels.index(label)] for label in both_sides] == ["BERT", "T5's encoder"]
    assert sorted(q.answer) == sorted(both_sides)


@key(F, "family_for_task")
def family_for_task(q):
    """Encoder classifies, decoder generates, seq2seq translates."""
    # BERT's [CLS] representation suits classification; GPT generates; T5 maps text to text
    assert q.answer == label_of(q, "(1) BERT, (2) GPT, (3) T5")


@key(F, "span_targets")
def span_corruption_targets(q):
    """The target is the sentinels and the dropped spans."""
    original, corrupted = re.findall(r'"([^"]+)"', q.text)[:2]
    words = original.split()
    spans, sentinels = [(2, 4), (8, 9)], ["<X>", "<Y>", "<Z>"]
    inputs, targets, last = [], [], 0
    for sentinel, (start, end) in zip(sentinels, spans):
        inputs += [*words[last:start], sentinel]
        targets += [sentinel, " ".join(words[start:end])]
        last = end
    inputs += words[last:]
    targets.append(sentinels[len(spans)])
    assert " ".join(inputs) == corrupted
    assert [q.items[q.labels.index(label)] for label in q.answer] == targets


@key(F, "sentinel_name")
def sentinel_name(q):
    """T5's span placeholders are sentinels."""
    assert all(accepts(q, a) for a in ("sentinel", "Sentinel tokens", "extra_id", "sentinel-token"))
    assert not accepts(q, "mask") and not accepts(q, "[MASK]")


@key(F, "scaling_doubling")
def power_law_gains_shrink(q):
    """Same factor per doubling, not same amount."""
    a, alpha, c = 406.4, 0.34, 1.69  # Chinchilla's fitted L(N) = a N^-alpha (+ c)
    n = np.array([1e8 * 2**i for i in range(8)])
    loss = a * n**-alpha
    assert np.allclose(loss[1:] / loss[:-1], 2**-alpha)  # constant ratio
    assert (np.diff(-np.diff(loss)) < 0).all()  # each doubling gains less than the one before
    assert (loss + c > c).all()  # with the irreducible term, never below c
    assert q.answer is True


@key(F, "train_flops")
def training_flops(q):
    """6 N D."""
    n = number_after(q.text, "N = ") * 1e9
    d = number_after(q.text, "D = ") * 1e12
    assert "billion" in q.text and "trillion" in q.text and (n, d) == (7e9, 2e12)
    assert_numeric(q, 6 * n * d / 1e22, wrong=(2 * n * d / 1e22, n * d / 1e22))


@key(F, "chinchilla_params")
def chinchilla_optimal_size(q):
    """N = sqrt(C / 120) for D = 20 N."""
    budget = float(re.search(r"C = (\d+) × 10(\d+)", plain(q.text)).expand(r"\1e\2"))
    assert budget == 3e23
    n = math.sqrt(budget / (6 * 20))
    assert math.isclose(6 * n * (20 * n), budget)
    grid = np.logspace(9, 12, 3001)  # by search: the N whose D = C / 6N is 20 tokens per parameter
    n_search = grid[np.argmin(np.abs(budget / (6 * grid) / grid - 20))]
    assert abs(n_search / n - 1) < 0.01
    assert_numeric(q, n / 1e9, wrong=(math.sqrt(budget / 6) / 1e9, math.sqrt(budget / (2 * 20)) / 1e9))
