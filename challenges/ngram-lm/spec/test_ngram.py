"""Specs for NGramLM: hand-computed probabilities on Jurafsky and Martin's "I am Sam" corpus
(unigram, bigram, trigram), add-k for k = 0, 1 and 0.5, context handling, sums over V,
perplexity, an independent oracle on random corpora, and the ValueError cases."""

import math
from collections import Counter, defaultdict

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from grader.spec import RemoteException, RemoteObject, check, describe_value, fail, lazy, public

SAM = [
    ["I", "am", "Sam"],
    ["Sam", "I", "am"],
    ["I", "do", "not", "like", "green", "eggs", "and", "ham"],
]  # 14 words + 3 "</s>" = 17 tokens; V = 10 words + "</s>" = 11 types
RTOL, ATOL = 1e-9, 1e-12


# ---------------------------------------------------------------- an independent oracle


class Oracle:
    """A straightforward add-k n-gram model, with switches that reproduce typical mistakes.

    ``averaging`` is how perplexity averages: "tokens" (right: over every token of every
    sentence), "sentence_means" (the mean of each sentence's mean log-probability),
    "sentence_perplexities" (the mean of the per-sentence perplexities) or "without_eos"
    (the "</s>" of each sentence left out of the score)."""

    def __init__(
        self,
        corpus,
        n,
        k=0.0,
        *,
        bos_in_vocab=False,
        eos=True,
        eos_in_vocab=True,
        first_tokens=False,
        k_top_only=False,
        unigram_context=False,
        right_padded=False,
        averaging="tokens",
    ):
        self.n, self.k = n, k
        self.first_tokens, self.k_top_only = first_tokens, k_top_only
        self.unigram_context, self.right_padded, self.averaging = unigram_context, right_padded, averaging
        self.eos = eos
        self.table = defaultdict(Counter)  # context -> Counter of next tokens
        vocab = set()
        for sentence in corpus:
            vocab.update(sentence)
            for context, word in self.events(sentence):
                self.table[context][word] += 1
        self.vocab = vocab | ({"</s>"} if eos and eos_in_vocab else set()) | ({"<s>"} if bos_in_vocab else set())

    def events(self, sentence):
        tokens = ["<s>"] * (self.n - 1) + list(sentence) + (["</s>"] if self.eos else [])
        return [(tuple(tokens[i - self.n + 1 : i]), tokens[i]) for i in range(self.n - 1, len(tokens))]

    def context(self, context):
        context = tuple(context)
        if self.n == 1:
            return context if self.unigram_context else ()  # context[-0:] is the whole tuple
        if self.first_tokens and len(context) >= self.n - 1:
            return context[: self.n - 1]
        if self.right_padded:
            return (context[-(self.n - 1) :] + ("<s>",) * (self.n - 1))[: self.n - 1]
        padded = ("<s>",) * (self.n - 1) + context
        return padded[len(padded) - (self.n - 1) :]

    def prob(self, word, context):
        following = self.table.get(self.context(context), Counter())
        total = sum(following.values())
        denominator = total + (0 if self.k_top_only else self.k * len(self.vocab))
        if denominator == 0:
            return 0.0
        return (following[word] + self.k) / denominator

    def perplexity(self, sentences):
        per_sentence = []  # the log-probabilities of each sentence's scored tokens
        for sentence in sentences:
            logs = []
            for context, word in self.events(sentence):
                p = self.prob(word, context)
                if p == 0:
                    return math.inf
                if not (self.averaging == "without_eos" and word == "</s>"):
                    logs.append(math.log(p))
            per_sentence.append(logs)
        if self.averaging == "sentence_means":
            return math.exp(-sum(sum(logs) / len(logs) for logs in per_sentence) / len(per_sentence))
        if self.averaging == "sentence_perplexities":
            return sum(math.exp(-sum(logs) / len(logs)) for logs in per_sentence) / len(per_sentence)
        logs = [lp for sentence_logs in per_sentence for lp in sentence_logs]
        return math.exp(-sum(logs) / len(logs)) if logs else math.nan


MISTAKES = [
    ({"bos_in_vocab": True}, '"<s>" is counted in V: V holds the training words and "</s>", never "<s>".'),
    ({"eos": False}, '"</s>" is missing: every sentence ends with one "</s>", which is counted and is in V.'),
    ({"eos_in_vocab": False}, '"</s>" is counted but not in V: V is the training words plus "</s>".'),
    ({"first_tokens": True}, "the first n-1 tokens of a longer context are kept: only the LAST n-1 tokens count."),
    ({"k_top_only": True}, "k is added to the numerator only: the denominator needs + k·|V| too."),
    (
        {"unigram_context": True},
        "the unigram model keeps its context: for n = 1, context[-(n - 1):] is context[-0:], the whole tuple.",
    ),
    ({"right_padded": True}, 'a short context is padded with "<s>" on the right: pad it on the LEFT.'),
    (
        {"averaging": "sentence_means"},
        "perplexity averages each sentence's mean log-probability: average over all the tokens of all the "
        "sentences together.",
    ),
    (
        {"averaging": "sentence_perplexities"},
        "the per-sentence perplexities are averaged over the sentences: take one exp of the mean "
        "log-probability over all the tokens together.",
    ),
    (
        {"averaging": "without_eos"},
        'perplexity skips the "</s>" of each sentence: it is scored and counted in M like every word.',
    ),
]
UNSEEN_DIVISION = "an unseen context with k = 0 divides by zero (c(ctx) + k·|V| = 0): return 0.0 for it."
LOG_OF_ZERO = "math.log(0) raises: return math.inf as soon as a probability is 0, before taking its log."


def diagnose(got, expected, corpus, n, k, method, *args):
    """The typical mistake whose value the submission's matches (and the right one does not),
    or '' when none does, or several do (the value cannot tell them apart)."""
    found = set()
    for flags, diagnosis in MISTAKES:
        wrong = getattr(Oracle(corpus, n, k, **flags), method)(*args)
        if not _close(wrong, expected) and _close(got, wrong):
            found.add(diagnosis)
    return found.pop() if len(found) == 1 else ""


def diagnosing(fn, *args, diagnosis=None):
    """``fn(*args)``; an exception the submission raises carries the diagnosis that
    ``diagnosis`` (a dict {(exception type name, text in its message): diagnosis}) gives it."""
    __tracebackhide__ = True
    try:
        return fn(*args)
    except RemoteException as exc:
        found = [d for (kind, text), d in (diagnosis or {}).items() if exc.type_name == kind and text in str(exc)]
        exc.diagnosis = found[0] if found else ""
        raise


def _close(a, b):
    if math.isinf(a) or math.isinf(b) or math.isnan(a) or math.isnan(b):
        return a == b
    return abs(a - b) <= ATOL + RTOL * abs(b)


def as_number(got, what):
    """``got`` as a float, failing unless it is a real number (int or float)."""
    __tracebackhide__ = True
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        fail(f"{what} should return a float, but it returned {describe_value(got)}.")
    return float(got)


def model(sub, corpus, n, k=0.0):
    """A fitted submission model (a handle to the object in the worker)."""
    lm = sub.NGramLM(n, k=k)
    lm.fit(corpus)
    return lm


def check_prob(lm, word, context, corpus, n, k, expected=None, hint="", returned=None, diagnosis=None):
    """Check lm.prob(word, context) (or what it ``returned``, computed already) against
    ``expected`` (default: the oracle). ``hint``: general advice for the message;
    ``diagnosis``: a function of the value returned naming the mistake (default: `diagnose`)."""
    __tracebackhide__ = True
    what = f"NGramLM({n}, k={k:g}).prob({word!r}, {tuple(context)!r})"
    oracle = Oracle(corpus, n, k)
    want = oracle.prob(word, context) if expected is None else expected
    if returned is None:
        unseen = k == 0 and not oracle.table.get(oracle.context(context))
        returned = diagnosing(
            lm.prob, word, tuple(context), diagnosis={("ZeroDivisionError", ""): UNSEEN_DIVISION} if unseen else None
        )
    got = as_number(returned, what)
    if not _close(got, want):
        recognise = diagnosis or (lambda got: diagnose(got, want, corpus, n, k, "prob", word, context))
        fail(
            f"{what} returned {got!r}, expected {want!r}. {_corpus_text(corpus)}{' ' + hint if hint else ''}",
            diagnosis=lazy(recognise, got),
        )


def check_perplexity(lm, sentences, corpus, n, k, expected=None, hint=""):
    __tracebackhide__ = True
    what = f"NGramLM({n}, k={k:g}).perplexity({_short(sentences)})"
    want = Oracle(corpus, n, k).perplexity(sentences) if expected is None else expected
    returned = diagnosing(
        lm.perplexity,
        sentences,
        diagnosis={("ValueError", "math domain error"): LOG_OF_ZERO} if math.isinf(want) else None,
    )
    got = as_number(returned, what)
    if not _close(got, want):
        fail(
            f"{what} returned {got!r}, expected {want!r}. {_corpus_text(corpus)}{' ' + hint if hint else ''}",
            diagnosis=lazy(diagnose, got, want, corpus, n, k, "perplexity", sentences),
        )


def _short(value):
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _corpus_text(corpus):
    if corpus is SAM:
        return 'Trained on ["I am Sam", "Sam I am", "I do not like green eggs and ham"] (split on spaces).'
    return f"Trained on {_short(corpus)}."


def expect_value_error(call, fn, *args, diagnosis=""):
    """``fn(*args)`` must raise ValueError; ``diagnosis`` names the mistake when it returns instead."""
    __tracebackhide__ = True
    try:
        got = fn(*args)
    except ValueError:  # the submission's own ValueError is one too
        return
    except RemoteException as exc:
        fail(f"{call} should raise ValueError, but it raised {exc.type_name}: {exc.remote_message}")
    fail(f"{call} should raise ValueError, but it returned {describe_value(got)}.", diagnosis=diagnosis)


# ---------------------------------------------------------------- hand-computed probabilities


@public
def test_bigram_hand_computed(sub):
    """Bigram MLE on "I am Sam": P(I|<s>) = 2/3, P(am|I) = 2/3, P(Sam|am) = 1/2, P(</s>|Sam) = 1/2, P(do|I) = 1/3"""
    lm = model(sub, SAM, 2)
    for word, context, value in [
        ("I", ("<s>",), 2 / 3),
        ("Sam", ("<s>",), 1 / 3),
        ("am", ("I",), 2 / 3),
        ("do", ("I",), 1 / 3),
        ("Sam", ("am",), 1 / 2),
        ("</s>", ("am",), 1 / 2),
        ("</s>", ("Sam",), 1 / 2),
        ("ham", ("I",), 0.0),
    ]:
        check_prob(lm, word, context, SAM, 2, 0.0, value)


@public
def test_fit_returns_the_model(sub):
    """fit returns the model itself (self), so NGramLM(2).fit(corpus).prob(...) works"""
    lm = sub.NGramLM(2)
    got = lm.fit(SAM)
    check(
        isinstance(got, RemoteObject) and got._hid == lm._hid,
        f"NGramLM(2).fit(corpus) should return the model itself (self), but it returned {describe_value(got)}.",
        diagnosis="fit has no `return self`, so it returns None." if got is None else "",
    )


@public
def test_perplexity_hand_computed(sub):
    """Bigram perplexity of "I am Sam": probabilities 2/3, 2/3, 1/2, 1/2 (with </s>), so (1/9)^(-1/4) = √3"""
    lm = model(sub, SAM, 2)
    check_perplexity(lm, [["I", "am", "Sam"]], SAM, 2, 0.0, math.sqrt(3))


def test_unigram_hand_computed(sub):
    """n = 1: P(w) = c(w) / 17 over the 14 words and 3 "</s>"; the context is ignored"""
    lm = model(sub, SAM, 1)
    for word, value in [("I", 3 / 17), ("</s>", 3 / 17), ("am", 2 / 17), ("ham", 1 / 17), ("<s>", 0.0)]:
        check_prob(lm, word, (), SAM, 1, 0.0, value)
    check_prob(
        lm,
        "Sam",
        ("I", "am"),
        SAM,
        1,
        0.0,
        2 / 17,
        hint="a unigram model has no context (n - 1 = 0 tokens): note that context[-0:] is the whole tuple.",
    )


def test_trigram_hand_computed(sub):
    """n = 3: P(I|<s> <s>) = 2/3, P(am|<s> I) = 1/2, P(Sam|I am) = 1/2, P(</s>|I am) = 1/2, P(not|I do) = 1"""
    lm = model(sub, SAM, 3)
    for word, context, value in [
        ("I", ("<s>", "<s>"), 2 / 3),
        ("am", ("<s>", "I"), 1 / 2),
        ("do", ("<s>", "I"), 1 / 2),
        ("Sam", ("I", "am"), 1 / 2),
        ("</s>", ("I", "am"), 1 / 2),
        ("not", ("I", "do"), 1.0),
        ("am", ("Sam", "I"), 1.0),
    ]:
        check_prob(lm, word, context, SAM, 3, 0.0, value)


def test_add_one_smoothing(sub):
    """k = 1 (Laplace): P(am|I) = 3/14, P(Sam|<s>) = 2/14, P(</s>|ham) = 2/12, P(ham|I) = 1/14 (|V| = 11)"""
    lm = model(sub, SAM, 2, 1.0)
    for word, context, value in [
        ("am", ("I",), 3 / 14),
        ("Sam", ("<s>",), 2 / 14),
        ("</s>", ("ham",), 2 / 12),
        ("ham", ("I",), 1 / 14),
    ]:
        check_prob(lm, word, context, SAM, 2, 1.0, value)


def test_add_half_smoothing(sub):
    """k = 0.5: bigram P(am|I) = 2.5 / 8.5, unigram P(I) = 3.5 / 22.5"""
    check_prob(model(sub, SAM, 2, 0.5), "am", ("I",), SAM, 2, 0.5, 2.5 / 8.5)
    check_prob(model(sub, SAM, 1, 0.5), "I", (), SAM, 1, 0.5, 3.5 / 22.5)


# ---------------------------------------------------------------- contexts


def test_unseen_context_with_k_zero_gives_zero(sub):
    """With k = 0 a context never seen in training gives 0.0 (no division by zero)"""
    hint = "c(ctx) = 0 and k = 0 make the formula 0/0: return 0.0 for such a context."
    lm = model(sub, SAM, 2)
    for context in [("zebra",), ("</s>",)]:
        check_prob(lm, "am", context, SAM, 2, 0.0, 0.0, hint=hint)
    check_prob(model(sub, SAM, 3), "I", ("am", "I"), SAM, 3, 0.0, 0.0, hint=hint)


@pytest.mark.parametrize("k", [1.0, 0.5])
def test_unseen_context_with_k_is_uniform(sub, k):
    """With k > 0 an unseen context gives k / (k·|V|) = 1/11 to every word of V"""
    lm = model(sub, SAM, 2, k)
    for word in ("I", "ham", "</s>"):
        check_prob(lm, word, ("zebra",), SAM, 2, k, 1 / 11)


def test_longer_context_uses_its_last_tokens(sub):
    """Only the last n−1 context tokens count: trigram P(Sam | Sam I am) = P(Sam | I am) = 1/2"""
    check_prob(model(sub, SAM, 3), "Sam", ("Sam", "I", "am"), SAM, 3, 0.0, 1 / 2)
    check_prob(model(sub, SAM, 2), "am", ("Sam", "I"), SAM, 2, 0.0, 2 / 3)


def test_shorter_context_is_left_padded(sub):
    """A short context is left-padded with <s>: trigram P(am | (I,)) = P(am | <s> I) = 1/2, P(I | ()) = 2/3"""
    hint = 'pad a short context on the LEFT with "<s>": it is the start of a sentence.'
    lm = model(sub, SAM, 3)
    check_prob(lm, "am", ("I",), SAM, 3, 0.0, 1 / 2, hint=hint)
    check_prob(lm, "I", (), SAM, 3, 0.0, 2 / 3, hint=hint)
    check_prob(model(sub, SAM, 2), "Sam", (), SAM, 2, 0.0, 1 / 3, hint=hint)


def test_out_of_vocabulary_word(sub):
    """A word never seen in training has count 0: 0.0 with k = 0, k / (c(ctx) + k·|V|) with k > 0"""
    check_prob(model(sub, SAM, 2), "zebra", ("I",), SAM, 2, 0.0, 0.0)
    check_prob(model(sub, SAM, 2, 1.0), "zebra", ("I",), SAM, 2, 1.0, 1 / 14)


VOCAB = ["I", "am", "Sam", "do", "not", "like", "green", "eggs", "and", "ham", "</s>"]


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("k", [0.0, 0.5, 1.0])
def test_probabilities_over_v_sum_to_one(sub, n, k):
    """For every context seen in training (and unseen ones when k > 0), Σ over V of P(w | ctx) = 1"""
    lm = model(sub, SAM, n, k)
    contexts = sorted({context for sentence in SAM for context, _ in Oracle(SAM, n).events(sentence)})
    if k > 0:
        contexts.append(("zebra",) * max(n - 1, 1))
    for context in contexts:
        got = sub.call_each(lm.prob, [(w, context) for w in VOCAB])
        total = sum(as_number(p, f"NGramLM({n}, k={k:g}).prob({w!r}, {context!r})") for w, p in zip(VOCAB, got))
        if abs(total - 1) > 1e-9:
            want = Oracle(SAM, n, k)
            bad = [w for w, p in zip(VOCAB, got) if not _close(p, want.prob(w, context))][:1] or VOCAB[:1]
            p_bad = got[VOCAB.index(bad[0])]
            fail(
                f"NGramLM({n}, k={k:g}): the probabilities over V for context {context!r} sum to {total!r}, not 1 "
                f"(prob({bad[0]!r}, {context!r}) returned {p_bad!r}, expected {want.prob(bad[0], context)!r}). "
                f'{_corpus_text(SAM)} V is the 10 training words and "</s>".',
                diagnosis=lazy(diagnose, p_bad, want.prob(bad[0], context), SAM, n, k, "prob", bad[0], context),
            )


# ---------------------------------------------------------------- perplexity


def test_perplexity_averages_over_every_token(sub):
    """Several sentences of different lengths: the mean is over all words and "</s>" together"""
    lm = model(sub, SAM, 2)
    test = [["I", "am", "Sam"], ["Sam", "I", "am"], ["I", "do", "not", "like", "green", "eggs", "and", "ham"]]
    # products 1/9 (4 tokens), 1/18 (4 tokens) and 2/9 (9 tokens): 17 tokens in all
    expected = (1 / 9 * 1 / 18 * 2 / 9) ** (-1 / 17)
    check_perplexity(
        lm,
        test,
        SAM,
        2,
        0.0,
        expected,
        hint="average the log-probabilities over every token of every sentence (each sentence's words and its "
        '"</s>"), not per sentence.',
    )


def test_perplexity_counts_the_end_token(sub):
    """The "</s>" of each sentence is scored: a unigram model's perplexity of one empty sentence is 17/3"""
    check_perplexity(model(sub, SAM, 1), [[]], SAM, 1, 0.0, 17 / 3)


def test_perplexity_with_add_one(sub):
    """k = 1: "I am Sam" scores 3/14, 3/14, 2/13, 2/13, so perplexity (36 / 33124)^(-1/4)"""
    check_perplexity(model(sub, SAM, 2, 1.0), [["I", "am", "Sam"]], SAM, 2, 1.0, (36 / 33124) ** (-1 / 4))


def test_perplexity_is_inf_when_a_probability_is_zero(sub):
    """An unseen bigram ("I like") or word with k = 0 makes the perplexity inf (math.log(0) raises: avoid it)"""
    hint = "a probability of 0 makes the perplexity inf; note that math.log(0) raises ValueError."
    lm = model(sub, SAM, 2)
    check_perplexity(lm, [["I", "am", "Sam"], ["I", "like", "Sam"]], SAM, 2, 0.0, math.inf, hint=hint)
    check_perplexity(model(sub, SAM, 1), [["I", "zebra"]], SAM, 1, 0.0, math.inf, hint=hint)


def test_trigram_perplexity_matches_oracle(sub):
    """Trigram perplexity with k = 0.5 on held-out sentences"""
    test = [["Sam", "I", "am"], ["I", "like", "green", "ham"], []]
    check_perplexity(model(sub, SAM, 3, 0.5), test, SAM, 3, 0.5)


# ---------------------------------------------------------------- the model object


def test_fit_replaces_earlier_counts(sub):
    """Fitting again starts from scratch: the model then equals one fitted on the new corpus only"""
    other = [["a", "b"], ["b", "a", "b"]]
    lm = model(sub, SAM, 2, 1.0)
    lm.fit(other)
    both = Oracle(SAM + other, 2, 1.0)  # what a fit that adds to the earlier counts gives
    for word, context in [("b", ("a",)), ("a", ("<s>",)), ("</s>", ("b",)), ("am", ("I",))]:
        want = Oracle(other, 2, 1.0).prob(word, context)
        wrong = both.prob(word, context)
        check_prob(
            lm,
            word,
            context,
            other,
            2,
            1.0,
            hint="fit should replace the counts of an earlier fit.",
            diagnosis=lambda got, wrong=wrong, want=want: (
                "fit adds to the counts of the earlier fit instead of replacing them (start from empty counts)."
                if _close(got, wrong) and not _close(wrong, want)
                else ""
            ),
        )


def test_fit_leaves_the_sentences_unchanged(sub):
    """fit and perplexity do not modify the sentences they are given (pad copies, not the input)"""
    corpus = [list(s) for s in SAM]
    lm = sub.NGramLM(3, k=0.5)
    for method in ("fit", "perplexity"):
        getattr(lm, method)(corpus)
        check(
            not sub.last_call.mutated,
            f"NGramLM(3, k=0.5).{method}(sentences) modified the sentences it was given; they must be left unchanged.",
            diagnosis=f"{method} modifies the sentences in place: pad a new list, "
            '["<s>"] * (n - 1) + sentence + ["</s>"], not the sentence itself.',
        )


@pytest.mark.parametrize(
    "args, diagnosis",
    [((0,), "n < 1 is not rejected"), ((-1,), "n < 1 is not rejected"), ((2, -0.5), "a negative k is not rejected")],
    ids=["n=0", "n=-1", "k=-0.5"],
)
def test_invalid_construction_raises(sub, args, diagnosis):
    """n < 1 or k < 0 raise ValueError when the model is built"""
    call = f"NGramLM({', '.join(map(repr, args))})"
    expect_value_error(call, sub.NGramLM, *args, diagnosis=f"{diagnosis}: the constructor must raise ValueError.")


def test_empty_sentence_lists_raise(sub):
    """fit([]) and perplexity([]) raise ValueError"""
    empty = "an empty list of sentences is not rejected: {} must raise ValueError."
    expect_value_error("NGramLM(2).fit([])", sub.NGramLM(2).fit, [], diagnosis=empty.format("fit([])"))
    lm = model(sub, SAM, 2)
    expect_value_error("NGramLM(2).perplexity([])", lm.perplexity, [], diagnosis=empty.format("perplexity([])"))


# ---------------------------------------------------------------- random corpora against the oracle


@st.composite
def corpus_case(draw):
    words = st.sampled_from(["a", "b", "c", "d", "e"])
    corpus = draw(st.lists(st.lists(words, max_size=6), min_size=1, max_size=5))
    test = draw(st.lists(st.lists(st.one_of(words, st.just("z")), max_size=5), min_size=1, max_size=3))
    n = draw(st.integers(1, 3))
    k = draw(st.sampled_from([0.0, 0.5, 1.0, 2.0]))
    return corpus, test, n, k


@settings(
    derandomize=True,
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    report_multiple_bugs=False,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # no shrinking: it would eat the time limit
)
@given(case=corpus_case())
def test_random_corpora_match_the_oracle(sub, case):
    """Random corpora, n = 1..3, k ∈ {0, 0.5, 1, 2}: probabilities, their sums over V, and perplexity"""
    corpus, test, n, k = case
    lm = model(sub, corpus, n, k)
    oracle = Oracle(corpus, n, k)
    vocab = sorted(oracle.vocab)
    seen = sorted({c for s in corpus for c, _ in oracle.events(s)})[:4]
    contexts = [*seen, ("z",) * (n - 1), ("c", "a", "b", "a")]  # unseen (for n > 1) and longer than n - 1
    calls = [(word, tuple(context)) for context in contexts for word in [*vocab, "z"]]
    describe = lambda word, context: f"NGramLM({n}, k={k:g}).prob({word!r}, {context!r})"  # noqa: E731
    for (word, context), got in zip(calls, sub.call_each(lm.prob, calls, describe)):
        check_prob(lm, word, context, corpus, n, k, returned=got)
    for context in seen:  # (an unseen context's probabilities sum to 0 when k = 0)
        got = sub.call_each(lm.prob, [(w, tuple(context)) for w in vocab], describe)
        total = sum(as_number(p, describe(w, tuple(context))) for w, p in zip(vocab, got))
        check(
            abs(total - 1) <= 1e-9,
            f"NGramLM({n}, k={k:g}): the probabilities over V = {vocab!r} for context {context!r} sum to {total!r}, "
            f"not 1. {_corpus_text(corpus)}",
        )
    check_perplexity(lm, test, corpus, n, k)
