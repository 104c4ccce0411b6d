"""Answer keys of the foundation quizzes, checked by code; and the content rules of every quiz.

Quizzes: quiz-entropy-kl, quiz-ngram-vs-rnn, quiz-vanishing-gradients, quiz-tokenization.
Every question of these quizzes has a registered check below (a test fails if one is missing):
numeric answers are recomputed (NumPy / pure Python) and compared within the question's
tolerance, true/false claims are demonstrated numerically where possible (a counterexample or
a random search), BPE/WordPiece counts come from a tiny tokenizer run here, and purely
conceptual keys are asserted with a one-line reason.

The format of questions.toml is checked by grader.quiz.load_questions, and `lmprep validate`
(tests/test_bank.py) proves every key scores full marks; the rules a quiz's content must
follow beyond that are checked here, once, for all quizzes (QUIZZES).
"""

from __future__ import annotations

import math
import re
from collections import Counter

import numpy as np
import pytest

from grader.quiz import TYPES, Question, normalise
from lmprep import bank
from tests.quizkeys import (
    CHALLENGES,
    KeyChecks,
    assert_accepts,
    assert_numeric,
    assert_rejects,
    label_of,
    questions,
)

# ------------------------------------------------------------------ content rules of every quiz

QUIZZES = {  # slug -> (topic, order, notes) in its challenge.toml
    "quiz-entropy-kl": ("probability", 18, "probability#entropy-and-kl"),
    "quiz-tokenization": ("tokenization", 28, "tokenization#bpe"),
    "quiz-sampling": ("decoding", 38, "decoding#sampling"),
    "quiz-ngram-vs-rnn": ("ngram", 48, "ngram#ngram-vs-rnn"),
    "quiz-vanishing-gradients": ("neural", 58, "neural#vanishing-gradients"),
    "quiz-transformer": ("transformer", 68, "transformer#multi-head-attention"),
    "quiz-llm-families": ("pretraining", 78, "pretraining#llm-families"),
}
ROUNDING = ("decimal", "whole number", "exact", "nearest")


@pytest.mark.parametrize("slug", QUIZZES)
def test_challenge_toml(slug):
    ch = bank.load(CHALLENGES / slug)
    assert (ch.slug, ch.kind, ch.topic, ch.order, ch.notes) == (slug, "quiz", *QUIZZES[slug]) and ch.title.strip()
    assert ch.difficulty in ("easy", "medium") and ch.prerequisites == ch.entry_points == ()
    assert ch.forbidden == ch.libraries == () and ch.devices == ("cpu",)
    assert ch.time_limit_s == 10.0 and ch.memory_limit_mb == 512 and 5 <= ch.est_minutes <= 15
    prompt = (CHALLENGES / slug / "prompt.md").read_text(encoding="utf-8")
    assert prompt.startswith("# {{ title }}\n") and "lmprep quiz" in prompt


@pytest.mark.parametrize("slug", QUIZZES)
def test_quiz_content(slug):
    qs = list(questions(slug).values())
    assert 6 <= len(qs) <= 10 and len({q.type for q in qs}) >= 4, "6-10 questions of at least 4 types"
    for q in qs:
        assert len(q.explanation.split()) >= 20, f"{q.id}: explain the key"
        if q.type in ("single", "multiple"):
            assert 2 <= len(q.choices) <= 6 and len(set(q.choices)) == len(q.choices), q.id
        elif q.type == "ordering":
            assert len(q.items) >= 3 and q.answer != list(q.labels), f"{q.id}: scramble the items"
        elif q.type == "numeric":
            text, units = q.text.lower(), re.findall(r"[a-z]{3,}", q.units.lower())
            assert units[0] == "dimensionless" or any(u in text for u in units), f"{q.id}: state the units"
            assert any(w in text for w in ROUNDING), f"{q.id}: state the rounding"
        elif q.type == "short":
            assert all(normalise(a) for a in q.accepted), q.id


def test_every_type_is_used_and_truefalse_is_mixed():
    every = [q for slug in QUIZZES for q in questions(slug).values()]
    assert {q.type for q in every} == set(TYPES)
    assert {q.answer for q in every if q.type == "truefalse"} == {True, False}


@pytest.mark.parametrize("slug", QUIZZES)
def test_each_quiz_mixes_true_and_false_claims(slug):
    """At least one fact and one misconception, so that answering 'false' everywhere does not pay."""
    assert {q.answer for q in questions(slug).values() if q.type == "truefalse"} == {True, False}


# ------------------------------------------------------------------ key checks

EKL, NG, VG, TOK = "quiz-entropy-kl", "quiz-ngram-vs-rnn", "quiz-vanishing-gradients", "quiz-tokenization"
key = KeyChecks(EKL, NG, VG, TOK)


@pytest.mark.parametrize("slug, qid", key.cases())
def test_answer_key(slug, qid):
    key.run(slug, qid)


def test_every_question_has_a_key_check():
    key.assert_complete()


def assert_order(q: Question, fragments: list[str]) -> None:
    """The key orders the items as the fragments (one substring per item, in the right order)."""
    assert q.type == "ordering"
    assert q.answer == [label_of(q, f) for f in fragments]


def assert_choices(q: Question, true_fragments: list[str], false_fragments: list[str]) -> None:
    """A single/multiple key is exactly the choices matching ``true_fragments``."""
    assert len(true_fragments) + len(false_fragments) == len(q.choices), "every choice must be classified"
    expected = sorted(label_of(q, f) for f in true_fragments)
    assert sorted({label_of(q, f) for f in false_fragments} | set(expected)) == list(q.labels)
    assert ([q.answer] if q.type == "single" else q.answer) == expected


# ------------------------------------------------------------------ quiz-entropy-kl


def entropy(p, base=2.0) -> float:
    p = np.asarray(p, dtype=float)
    nz = p > 0
    return float(-(p[nz] * np.log(p[nz])).sum() / math.log(base))


def cross_entropy(p, q, base=2.0) -> float:
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    nz = p > 0
    with np.errstate(divide="ignore"):
        return float(-(p[nz] * np.log(q[nz])).sum() / math.log(base))


def kl(p, q, base=2.0) -> float:
    p, q = np.asarray(p, dtype=float), np.asarray(q, dtype=float)
    nz = p > 0
    with np.errstate(divide="ignore"):
        return float((p[nz] * (np.log(p[nz]) - np.log(q[nz]))).sum() / math.log(base))


def random_pairs(n=500, k=5, seed=0):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        alpha = rng.choice([0.1, 1.0, 10.0])
        yield rng.dirichlet([alpha] * k), rng.dirichlet([alpha] * k)


@key(EKL, "entropy_bits")
def _(q):
    assert "(1/2, 1/4, 1/8, 1/8)" in q.text
    assert_numeric(q, entropy([1 / 2, 1 / 4, 1 / 8, 1 / 8]))


P3, Q3 = [1 / 2, 1 / 4, 1 / 4], [1 / 4, 1 / 4, 1 / 2]


@key(EKL, "cross_entropy_bits")
def _(q):
    assert "p = (1/2, 1/4, 1/4)" in q.text and "q = (1/4, 1/4, 1/2)" in q.text
    assert_numeric(q, cross_entropy(P3, Q3))
    assert cross_entropy(P3, Q3) > entropy(P3)  # the explanation: H(p) = 1.5 < H(p, q)
    assert entropy(P3) == pytest.approx(1.5)
    assert cross_entropy(Q3, P3) == pytest.approx(1.75)  # the "coincidence" the explanation admits


@key(EKL, "kl_bits")
def _(q):
    assert_numeric(q, kl(P3, Q3))
    assert kl(P3, Q3) == pytest.approx(cross_entropy(P3, Q3) - entropy(P3))


@key(EKL, "derivation_order")
def _(q):
    # every step's expression equals H(p, q) numerically, in nats
    rng = np.random.default_rng(1)
    p, r = rng.dirichlet(np.ones(6)), rng.dirichlet(np.ones(6))
    ln = np.log
    steps = [
        -(p * ln(r)).sum(),
        -(p * ln(p * r / p)).sum(),
        -(p * ln(p)).sum() - (p * ln(r / p)).sum(),
        -(p * ln(p)).sum() + (p * ln(p / r)).sum(),
        entropy(p, math.e) + kl(p, r, math.e),
    ]
    assert np.allclose(steps, steps[0])
    assert_order(q, ["(definition", "(multiply and divide", "(the log of a product", "(flip the ratio", "(name the"])


@key(EKL, "min_ce_is_min_kl")
def _(q):
    rng = np.random.default_rng(2)
    p_hat = rng.dirichlet(np.ones(4))
    candidates = rng.dirichlet(np.ones(4), size=300)
    ce = np.array([cross_entropy(p_hat, c) for c in candidates])
    fwd = np.array([kl(p_hat, c) for c in candidates])
    rev = np.array([kl(c, p_hat) for c in candidates])
    assert np.allclose(ce - fwd, entropy(p_hat))  # differ by the constant H(p̂)
    assert ce.argmin() == fwd.argmin()
    assert not np.allclose(ce - rev, (ce - rev)[0])  # reverse KL is a different objective
    assert_choices(q, ["KL(p̂‖q), the forward"], ["KL(q‖p̂)", "maximising the entropy", "entropy H(p̂)"])


@key(EKL, "kl_symmetric")
def _(q):
    p, r = [0.5, 0.5], [0.25, 0.75]
    assert kl(p, r) == pytest.approx(0.2075, abs=1e-4) and kl(r, p) == pytest.approx(0.1887, abs=1e-4)
    assert q.answer is False


@key(EKL, "ce_at_least_entropy")
def _(q):
    for p, r in random_pairs():
        assert cross_entropy(p, r) >= entropy(p) - 1e-12
        assert cross_entropy(p, p) == pytest.approx(entropy(p))
    assert q.answer is True


@key(EKL, "kl_properties")
def _(q):
    k = 5
    for p, r in random_pairs(k=k):
        assert entropy(p) <= math.log2(k) + 1e-12  # (a)
        assert kl(p, r) >= -1e-12  # (b)
        assert kl(p, r) > 1e-9 or np.allclose(p, r)  # (d)
        assert entropy(p) >= 0  # (e) is false
    assert kl([0.2, 0.8], [0.2, 0.8]) == 0.0 and entropy([1.0, 0.0]) == 0.0
    p, r = [0.5, 0.5], [0.25, 0.75]
    assert cross_entropy(p, r) == pytest.approx(1.2075, abs=1e-4) and cross_entropy(r, p) == pytest.approx(1.0)
    assert_choices(q, ["log₂ K", "KL(p‖q) ≥ 0", "= 0 only if"], ["H(p, q) = H(q, p)", "negative"])


@key(EKL, "perplexity")
def _(q):
    probs = np.array([1 / 2, 1 / 4, 1 / 8, 1 / 16])
    h = float(-np.log2(probs).mean())
    assert_numeric(q, 2**h, wrong=(float((1 / probs).mean()),))  # not the arithmetic mean of 1/p
    assert math.exp(float(-np.log(probs).mean())) == pytest.approx(2**h)  # base-independent


@key(EKL, "gibbs_inequality")
def _(q):
    # Gibbs' inequality, shown by random search above; here the accepted spellings
    assert_accepts(q, "Gibbs", "gibbs' inequality", "Gibbs’ inequality", "GIBBS.")
    assert_rejects(q, "Jensen")  # Jensen is the proof tool, not the name


# ------------------------------------------------------------------ quiz-ngram-vs-rnn


@key(NG, "table_growth")
def _(q):
    v = 20_000
    assert_numeric(q, v**4 / v**2 / 1e6)


def rnn_params(vocab: int, emb: int, hidden: int) -> dict[str, int]:
    return {
        "E": vocab * emb,
        "W": hidden * emb,
        "U": hidden * hidden,
        "b": hidden,
        "O": vocab * hidden,
        "c": vocab,
    }


@key(NG, "rnn_params")
def _(q):
    counts = rnn_params(10_000, 100, 100)
    assert sum(counts.values()) == 2_030_100
    assert_numeric(q, sum(counts.values()) / 1e6)


@key(NG, "perplexity_gap_bits")
def _(q):
    assert_numeric(q, math.log2(140) - math.log2(80))


@key(NG, "embeddings_generalise")
def _(q):
    # conceptual: shared dense embeddings transfer evidence between similar words (Bengio et al. 2003)
    assert_choices(q, ["dense embeddings"], ["secretly stores", "add-one", "never outputs exactly zero"])


@key(NG, "smoothing_facts")
def _(q):
    # (a) add-one: a context seen 100 times with 50 distinct continuations, |V| = 10,000
    v, n, seen = 10_000, 100, 50
    unseen_mass = (v - seen) * 1 / (n + v)
    assert unseen_mass > 0.98
    # (b) continuation counts: "francisco" is frequent but follows only "san"
    tokens = ("san francisco " * 5 + "the cat a cat my cat his cat").split()
    bigrams = list(zip(tokens, tokens[1:]))
    freq = Counter(tokens)
    continuation = Counter(w for _, w in set(bigrams))
    assert freq["francisco"] > freq["cat"] and continuation["francisco"] < continuation["cat"]
    # (c), (e) false: smoothing keeps the same window and treats words as unrelated symbols
    assert_choices(
        q,
        ["Add-one", "continuation counts", "Backoff and interpolation"],
        ["beyond the previous n − 1", "'cat' and 'dog'"],
    )


@key(NG, "rnn_context_params")
def _(q):
    rng = np.random.default_rng(3)
    vocab, d = 50, 16
    emb = rng.normal(size=(vocab, d))
    w, u = rng.normal(size=(d, d)) / math.sqrt(d), rng.normal(size=(d, d)) * 1.2 / math.sqrt(d)

    def last_state(ids):
        h = np.zeros(d)
        for i in ids:
            h = np.tanh(w @ emb[i] + u @ h)
        return h

    ids = rng.integers(0, vocab, size=20)
    changed = ids.copy()
    changed[0] = (ids[0] + 1) % vocab
    # the same parameters handle any length, and the first token still moves the 20th state
    assert last_state(ids[:3]).shape == last_state(ids).shape
    assert np.abs(last_state(ids) - last_state(changed)).max() > 0
    assert q.answer is True


@key(NG, "ngrams_never_win")
def _(q):
    # conceptual: n-grams still win on tiny data, O(1) lookups, exact counts over huge corpora
    assert q.answer is False


@key(NG, "perplexity_across_vocabularies")
def _(q):
    # the same text and the same total log-probability, cut into 10 or 20 tokens
    total_log2_prob = -60.0
    ppl_coarse, ppl_fine = 2 ** (-total_log2_prob / 10), 2 ** (-total_log2_prob / 20)
    assert ppl_coarse == 64 and ppl_fine == 8  # the finer tokeniser "wins" by a factor of 8
    assert q.answer is False


@key(NG, "sparsity_name")
def _(q):
    rng = np.random.default_rng(4)
    v, n_tokens = 1_000, 100_000
    corpus = rng.zipf(1.3, size=n_tokens) % v
    seen = len(set(zip(corpus, corpus[1:], corpus[2:])))
    assert seen / v**3 < 1e-4  # almost every possible trigram is unseen
    assert_accepts(q, "sparsity", "data sparsity", "Data-sparsity", "sparseness")


@key(NG, "rnn_forward_order")
def _(q):
    # data dependencies: embedding -> pre-activation -> tanh -> logits -> softmax
    assert_order(q, ["Look up the embedding", "Combine the embedding", "tanh", "Project", "softmax"])


# ------------------------------------------------------------------ quiz-vanishing-gradients


@key(VG, "scalar_rnn_gradient")
def _(q):
    w, steps = 0.8, 20
    rng = np.random.default_rng(5)
    xs = rng.normal(size=steps)

    def run(h0):
        h = h0
        for x in xs:
            h = w * h + x
        return h

    eps = 1e-6
    finite_difference = (run(0.3 + eps) - run(0.3 - eps)) / (2 * eps)
    assert finite_difference == pytest.approx(abs(w) ** steps, rel=1e-6)
    assert_numeric(q, abs(w) ** steps)
    assert 1.2**20 == pytest.approx(38.3, abs=0.1)  # the explanation's exploding counterpart


@key(VG, "tanh_saturation")
def _(q):
    eps = 1e-6
    finite_difference = (math.tanh(3 + eps) - math.tanh(3 - eps)) / (2 * eps)
    assert finite_difference == pytest.approx(1 - math.tanh(3) ** 2, rel=1e-6)
    assert_numeric(q, 1 - math.tanh(3) ** 2)


def clip_by_norm(g: np.ndarray, tau: float) -> np.ndarray:
    return g * min(1.0, tau / np.linalg.norm(g))


@key(VG, "clip_by_norm")
def _(q):
    clipped = clip_by_norm(np.array([3.0, 4.0]), 1.0)
    assert np.allclose(clipped, [0.6, 0.8])
    assert_numeric(q, clipped[0])


def tanh_rnn_jacobian(w: np.ndarray, xs: np.ndarray, h0: np.ndarray) -> np.ndarray:
    """∂h_T/∂h_0 of h_t = tanh(W h_{t-1} + x_t), as the product of the step Jacobians."""
    h, jac = h0, np.eye(len(h0))
    for x in xs:
        h = np.tanh(w @ h + x)
        jac = np.diag(1 - h**2) @ w @ jac
    return jac


@key(VG, "small_spectral_norm")
def _(q):
    rng = np.random.default_rng(6)
    d, steps = 8, 40
    for _ in range(20):
        a = rng.normal(size=(d, d))
        w = 0.9 * a / np.linalg.norm(a, 2)  # largest singular value 0.9
        xs = rng.normal(scale=rng.choice([0.1, 1.0, 3.0]), size=(steps, d))
        jac = tanh_rnn_jacobian(w, xs, rng.normal(size=d))
        assert np.linalg.norm(jac, 2) <= 0.9**steps * (1 + 1e-9)
    assert_choices(q, ["at most 0.9ᵀ"], ["explodes", "stays close to 1", "Nothing can be said"])


@key(VG, "large_norm_can_vanish")
def _(q):
    # scalar w = 2 > 1: the state saturates and every step multiplies the gradient by ≈ 0.17
    jac = tanh_rnn_jacobian(np.array([[2.0]]), np.zeros((50, 1)), np.array([1.0]))
    assert abs(jac[0, 0]) < 1e-30
    h = 1.0
    for _ in range(200):
        h = math.tanh(2 * h)
    assert h == pytest.approx(0.957, abs=1e-3) and 2 * (1 - h**2) == pytest.approx(0.17, abs=0.01)
    # a non-normal W: largest singular value ≈ 10, eigenvalues 0.5, long products decay
    w = np.array([[0.5, 10.0], [0.0, 0.5]])
    assert np.linalg.norm(w, 2) > 9 and np.linalg.norm(np.linalg.matrix_power(w, 60), 2) < 1e-10
    assert q.answer is True


@key(VG, "clipping_cures_vanishing")
def _(q):
    rng = np.random.default_rng(7)
    for _ in range(100):
        g = rng.normal(size=10) * 10.0 ** rng.uniform(-8, 4)
        assert np.linalg.norm(clip_by_norm(g, 1.0)) <= np.linalg.norm(g) * (1 + 1e-12)
    tiny = np.full(4, 1e-9)
    assert np.array_equal(clip_by_norm(tiny, 1.0), tiny)  # a vanished gradient stays vanished
    assert q.answer is False


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


@key(VG, "lstm_cell_path")
def _(q):
    rng = np.random.default_rng(8)
    d, n = 5, 3
    wx, wh, b = rng.normal(size=(4 * d, n)), rng.normal(size=(4 * d, d)), rng.normal(size=4 * d)
    x, h_prev, c_prev = rng.normal(size=n), rng.normal(size=d), rng.normal(size=d)

    def cell(c):
        z = wx @ x + wh @ h_prev + b
        i, f, g = sigmoid(z[:d]), sigmoid(z[d : 2 * d]), np.tanh(z[2 * d : 3 * d])
        return f * c + i * g, f

    _, f = cell(c_prev)
    eps = 1e-6
    jac = np.stack([(cell(c_prev + eps * e)[0] - cell(c_prev - eps * e)[0]) / (2 * eps) for e in np.eye(d)], 1)
    assert np.allclose(jac, np.diag(f), atol=1e-8)  # (a): diag(f), no W, no tanh′ (so (d) is false)
    assert 0.99**100 > 0.36 and 0.9**100 < 3e-5  # (b)
    assert sigmoid(1.0) == pytest.approx(0.731, abs=1e-3) and sigmoid(1.0) > sigmoid(0.0)  # (e)
    # (c) conceptual: the h and gate paths can still explode; LSTMs are trained with clipping
    assert_choices(
        q,
        ["additive", "forget gate stays close to 1", "forget-gate bias"],
        ["cannot have exploding", "tanh′ at every step"],
    )


def gru_jacobian(z_bias: float, steps: int = 30, d: int = 6, seed: int = 9) -> np.ndarray:
    """∂h_T/∂h_0 of h_t = (1 − z_t) h_{t−1} + z_t h̃_t, by central finite differences."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(d, d))
    uz, ur, uh = (0.5 * m / np.linalg.norm(m, 2) for m in (a, rng.normal(size=(d, d)), rng.normal(size=(d, d))))
    xs = rng.normal(size=(steps, d))

    def run(h):
        for x in xs:
            z = sigmoid(uz @ h + x + z_bias)
            r = sigmoid(ur @ h + x)
            h = (1 - z) * h + z * np.tanh(uh @ (r * h) + x)
        return h

    h0, eps = rng.normal(size=d), 1e-6
    return np.stack([(run(h0 + eps * e) - run(h0 - eps * e)) / (2 * eps) for e in np.eye(d)], 1)


@key(VG, "gru_update_gate")
def _(q):
    assert np.allclose(gru_jacobian(z_bias=-10.0), np.eye(6), atol=0.02)  # z ≈ 0: copy, J ≈ I
    assert np.linalg.norm(gru_jacobian(z_bias=10.0), 2) < 1e-6  # z ≈ 1: vanilla-like, vanishes
    assert np.linalg.norm(gru_jacobian(z_bias=0.0), 2) < 0.05  # z ≈ 0.5 also decays
    assert_choices(q, ["zₜ ≈ 0"], ["zₜ ≈ 1", "reset gate", "zₜ = 0.5"])


@key(VG, "truncated_bptt")
def _(q):
    # conceptual: the name of the technique
    assert_accepts(q, "truncated BPTT", "Truncated backpropagation through time", "TBPTT", "truncated back-propagation")


@key(VG, "training_step_order")
def _(q):
    # dependencies: detach before forward; gradients exist only after backward; clip before the step
    assert_order(q, ["Detach", "forward pass", "Backpropagate", "Rescale", "optimizer"])


# ------------------------------------------------------------------ quiz-tokenization

CORPUS = {"hug": 10, "pug": 5, "pun": 12, "bun": 4, "hugs": 5}


def apply_merge(symbols: list[str], pair: tuple[str, str], new: str) -> list[str]:
    out, i = [], 0
    while i < len(symbols):
        if i + 1 < len(symbols) and (symbols[i], symbols[i + 1]) == pair:
            out.append(new)
            i += 2
        else:
            out.append(symbols[i])
            i += 1
    return out


def bpe_encode(word: str, merges: list[tuple[str, str]]) -> list[str]:
    symbols = list(word)
    for a, b in merges:
        symbols = apply_merge(symbols, (a, b), a + b)
    return symbols


def train_bpe(corpus: dict[str, int], n_merges: int, no_ties: bool = True) -> tuple[list[tuple[str, str]], list[int]]:
    """Merges by frequency over words (no pair crosses a word); the total token count after each.

    Ties go to the pair seen first; ``no_ties`` asserts there are none.
    """
    words = {w: list(w) for w in corpus}
    merges, totals = [], [sum(len(s) * corpus[w] for w, s in words.items())]
    for _ in range(n_merges):
        pairs = Counter()
        for w, s in words.items():
            for pair in zip(s, s[1:]):
                pairs[pair] += corpus[w]
        if not pairs:
            break
        ranked = pairs.most_common(2)
        best = ranked[0][0]
        assert not no_ties or len(ranked) == 1 or ranked[0][1] > ranked[1][1], "the quiz promises no ties"
        merges.append(best)
        words = {w: apply_merge(s, best, best[0] + best[1]) for w, s in words.items()}
        totals.append(sum(len(s) * corpus[w] for w, s in words.items()))
    return merges, totals


def longest_match(word: str, vocab: set[str], prefix: str = "") -> list[str]:
    """Greedy longest-match-first (WordPiece encoding); ``prefix`` marks continuation pieces."""
    out, start = [], 0
    while start < len(word):
        for end in range(len(word), start, -1):
            piece = (prefix if start else "") + word[start:end]
            if piece in vocab:
                out.append(piece)
                start = end
                break
        else:
            return ["[UNK]"]
    return out


@key(TOK, "bpe_apply_count")
def _(q):
    symbols = list("aaabdaaabac")
    for pair, new in [(("a", "a"), "Z"), (("a", "b"), "Y"), (("Z", "Y"), "X")]:
        symbols = apply_merge(symbols, pair, new)
    assert symbols == ["X", "d", "X", "a", "c"]
    assert_numeric(q, len(symbols))


@key(TOK, "bpe_train_count")
def _(q):
    merges, totals = train_bpe(CORPUS, 3)
    assert merges == [("u", "g"), ("u", "n"), ("h", "ug")]
    assert totals == [113, 93, 77, 62] and "113 tokens" in q.text
    assert_numeric(q, totals[-1])


@key(TOK, "wordpiece_first_merge")
def _(q):
    words = {w: [w[0]] + ["##" + ch for ch in w[1:]] for w in CORPUS}
    units, pairs = Counter(), Counter()
    for w, pieces in words.items():
        for piece in pieces:
            units[piece] += CORPUS[w]
        for pair in zip(pieces, pieces[1:]):
            pairs[pair] += CORPUS[w]
    scores = {pair: n / (units[pair[0]] * units[pair[1]]) for pair, n in pairs.items()}
    best = max(scores, key=scores.get)
    assert best == ("##g", "##s") and scores[best] == pytest.approx(1 / 20)
    assert scores[("##u", "##g")] == pytest.approx(1 / 36) and pairs.most_common(1)[0][0] == ("##u", "##g")
    assert_choices(q, ["`##g` + `##s`"], ["`##u` + `##g`", "`h` + `##u`", "`##u` + `##n`"])


@key(TOK, "vocab_size_tradeoff")
def _(q):
    text = "the cat sat on the mat the cat ate the rat that sat on the hat " * 3
    merges, lengths = train_bpe(Counter(text.split()), 8, no_ties=False)
    assert len(merges) == 8 and all(b < a for a, b in zip(lengths, lengths[1:]))  # more merges, fewer tokens
    d = 4096
    assert (256_000 - 32_000) * d == pytest.approx(0.9e9, rel=0.05)  # extra parameters per matrix
    assert_choices(q, ["fewer tokens"], ["more tokens", "unchanged", "byte-level fallback"])


@key(TOK, "byte_level_bpe")
def _(q):
    for text in ["hello", "naïve café", "日本語", "😀 emoji", "\x00\x7f control", ""]:
        data = text.encode("utf-8")
        assert all(0 <= b < 256 for b in data) and data.decode("utf-8") == text  # (a): no unknown
    emoji = "😀".encode()
    assert len(emoji) == 4  # (b): up to 4 tokens for one character
    with pytest.raises(UnicodeDecodeError):
        emoji[:2].decode("utf-8")  # (d) is false: a slice can cut a character
    # (c) no [UNK] exists in a byte vocabulary; (e) is the Unigram model's criterion, not BPE's
    assert_choices(q, ["256 byte values", "single emoji"], ["[UNK]", "always gives valid", "unigram language"])


@key(TOK, "wordpiece_hash_prefix")
def _(q):
    vocab = {"un", "able", "##aff", "##able", "aff"}
    assert longest_match("unaffable", vocab, prefix="##") == ["un", "##aff", "##able"]
    assert longest_match("able", vocab, prefix="##") == ["able"]  # word-initial: no ##
    assert q.answer is True


@key(TOK, "unigram_merges")
def _(q):
    # conceptual: Unigram prunes a large seed vocabulary by likelihood (EM), it does not merge pairs
    assert q.answer is False


@key(TOK, "bpe_longest_match")
def _(q):
    merges = [("b", "c"), ("a", "b")]
    assert train_bpe({"bc": 3, "ab": 2}, 2)[0] == merges  # a learnable merge list
    vocab = {"a", "b", "c", "bc", "ab"}
    assert bpe_encode("abc", merges) == ["a", "bc"]
    assert longest_match("abc", vocab) == ["ab", "c"]
    assert q.answer is False


@key(TOK, "sentencepiece_space")
def _(q):
    text = "Hello  world, 世界"
    pieces = text.replace(" ", "\u2581")
    assert " " not in pieces and pieces.replace("\u2581", " ") == text  # lossless
    assert_accepts(q, "space", "whitespace", "white-space", "Space.")


@key(TOK, "bpe_training_order")
def _(q):
    assert_order(
        q, ["Pre-tokenise", "Count every adjacent pair", "Select the most frequent", "Replace every", "Stop if"]
    )
