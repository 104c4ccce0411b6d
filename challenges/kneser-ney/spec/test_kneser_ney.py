"""Specs for KneserNeyLM: hand-worked probabilities, an independent straightforward
implementation of interpolated Kneser-Ney (below) on fixed and random corpora, sums over V
for seen, unseen and partially seen contexts, the continuation-count effect ("San
Francisco"), discounts 0 and 1, n = 1, 2, 3, and the ValueError cases."""

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from grader.spec import RemoteObject, check, check_unchanged_inputs, fail, public

ABC = [["a", "b"], ["a", "c"], ["b", "c"]]  # V = {a, b, c, </s>}
FRANCISCO = [["San", "Francisco"]] * 5 + [["my", "glasses"], ["new", "glasses"], ["reading", "glasses"]]
RTOL, ATOL = 1e-9, 1e-12


# ---------------------------------------------------------------- an independent oracle


class Oracle:
    """Interpolated Kneser-Ney written straight from the definition: every count is a scan
    over the list of counted n-grams. Switches reproduce typical mistakes (for hints)."""

    def __init__(
        self,
        corpus,
        n,
        d,
        *,
        continuation=True,
        lower_discount=True,
        n1plus_weight=True,
        uniform=True,
        unseen_zero=False,
        bos_in_vocab=False,
    ):
        self.n, self.d = n, d
        self.continuation, self.lower_discount, self.n1plus_weight = continuation, lower_discount, n1plus_weight
        self.uniform, self.unseen_zero = uniform, unseen_zero
        self.grams = []  # one n-gram per word and "</s>" of every padded sentence
        self.vocab = {"</s>"} | ({"<s>"} if bos_in_vocab else set())
        for sentence in corpus:
            self.vocab.update(sentence)
            tokens = ["<s>"] * (n - 1) + list(sentence) + ["</s>"]
            for i in range(n - 1, len(tokens)):
                self.grams.append(tuple(tokens[i - n + 1 : i + 1]))

    def count(self, m, gram):
        """c_m(gram): the plain count at the top order, the continuation count N1+(. gram) below."""
        endings = [g for g in self.grams if g[len(g) - m :] == gram]
        if m == self.n or not self.continuation:
            return len(endings)
        return len({g[len(g) - m - 1] for g in endings})

    def p(self, m, word, ctx):
        """P_m(word | ctx) for a context of m - 1 tokens; P_0 is uniform over V."""
        if m == 0:
            return 1 / len(self.vocab)
        lower = self.p(m - 1, word, ctx[1:])
        followers = {g[-1] for g in self.grams if g[len(g) - m : -1] == ctx}
        total = sum(self.count(m, (*ctx, w)) for w in followers)
        if total == 0:
            return 0.0 if self.unseen_zero else lower
        if m == 1 and not self.uniform:
            return self.count(1, (word,)) / total
        d = self.d if m == self.n or self.lower_discount else 0.0
        weight = d * (len(followers) if self.n1plus_weight else 1) / total
        return max(self.count(m, (*ctx, word)) - d, 0) / total + weight * lower

    def prob(self, word, context):
        padded = ("<s>",) * (self.n - 1) + tuple(context)
        return self.p(self.n, word, padded[len(padded) - (self.n - 1) :])


MISTAKES = [
    ({"continuation": False}, "the lower orders seem to use plain counts: use continuation counts N1+(• ctx w) there."),
    ({"uniform": False}, "the unigram level must be interpolated with the uniform distribution 1/|V| as well."),
    ({"n1plus_weight": False}, "the interpolation weight is d·N1+(ctx •)/c(ctx): is the N1+(ctx •) factor missing?"),
    ({"lower_discount": False}, "the lower orders seem undiscounted: discount and interpolate at every order."),
    ({"unseen_zero": True}, "an unseen context must fall through to the next lower order, not give 0."),
    ({"bos_in_vocab": True}, 'is "<s>" counted in V? V holds the training tokens and "</s>", never "<s>".'),
]


def _close(a, b):
    return abs(a - b) <= ATOL + RTOL * abs(b)


def diagnose(got, expected, corpus, n, d, word, context):
    """A hint naming the typical mistake whose value the submission's matches, or ''."""
    for flags, hint in MISTAKES:
        wrong = Oracle(corpus, n, d, **flags).prob(word, context)
        if not _close(wrong, expected) and _close(got, wrong):
            return hint
    return ""


def as_number(got, what):
    """``got`` as a float, failing unless it is a real number (int or float)."""
    __tracebackhide__ = True
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        kind = f"an object of type {got._type}" if isinstance(got, RemoteObject) else f"a {type(got).__name__}"
        fail(f"{what} should return a float, but it returned {kind}.")
    return float(got)


def model(sub, corpus, n, d):
    lm = sub.KneserNeyLM(n, d)
    lm.fit(corpus)
    return lm


def _corpus_text(corpus):
    if corpus is ABC:
        return 'Trained on ["a b", "a c", "b c"].'
    if corpus is FRANCISCO:
        return 'Trained on 5 × "San Francisco", "my glasses", "new glasses", "reading glasses".'
    text = repr(corpus)
    return f"Trained on {text if len(text) <= 80 else text[:77] + '...'}."


def check_prob(lm, word, context, corpus, n, d, expected=None, hint=""):
    """Check lm.prob(word, context) against ``expected`` (default: the oracle)."""
    __tracebackhide__ = True
    what = f"KneserNeyLM(n={n}, discount={d:g}).prob({word!r}, {tuple(context)!r})"
    want = Oracle(corpus, n, d).prob(word, context) if expected is None else expected
    got = as_number(lm.prob(word, tuple(context)), what)
    if not _close(got, want):
        hint = diagnose(got, want, corpus, n, d, word, context) or hint
        fail(f"{what} returned {got!r}, expected {want!r}. {_corpus_text(corpus)}{' ' + hint if hint else ''}")


def check_sums(lm, contexts, corpus, n, d):
    """Σ over V of prob(w, ctx) = 1 (within 1e-9) for each context."""
    __tracebackhide__ = True
    vocab = sorted(Oracle(corpus, n, d).vocab)
    for context in contexts:
        total = sum(as_number(lm.prob(w, context), "prob") for w in vocab)
        if abs(total - 1) > 1e-9:
            oracle = Oracle(corpus, n, d)
            hint = ""
            for w in vocab:
                got, want = lm.prob(w, context), oracle.prob(w, context)
                if not _close(got, want):
                    hint = diagnose(got, want, corpus, n, d, w, context)
                    break
            fail(
                f"KneserNeyLM(n={n}, discount={d:g}): the probabilities over V = {vocab} for context "
                f"{tuple(context)!r} sum to {total!r}, not 1. {_corpus_text(corpus)} {hint}"
            )


def expect_value_error(what, fn, *args, **kwargs):
    __tracebackhide__ = True
    try:
        got = fn(*args, **kwargs)
    except ValueError:
        return
    fail(f"{what} should raise ValueError, but it returned {got!r}.")


# ---------------------------------------------------------------- hand-worked values


@public
def test_bigram_hand_computed(sub):
    """n = 2, d = 0.5 on [a b], [a c], [b c]: P(b|a) = 1/4 + 1/2·P_cont(b) = 1/4 + 1/2·2/7 = 11/28"""
    # continuation counts: a {<s>}, b {a, <s>}, c {a, b}, </s> {b, c}: 7 bigram types
    lm = model(sub, ABC, 2, 0.5)
    check_prob(lm, "b", ("a",), ABC, 2, 0.5, 11 / 28)
    check_prob(lm, "</s>", ("a",), ABC, 2, 0.5, 1 / 7)  # 0 + 1/2 · 2/7
    check_prob(lm, "a", ("a",), ABC, 2, 0.5, 1 / 14)  # 0 + 1/2 · 1/7


@public
def test_fit_returns_the_model(sub):
    """fit returns the model itself, so KneserNeyLM(2, 0.5).fit(corpus).prob(...) works"""
    lm = sub.KneserNeyLM(2, 0.5)
    got = lm.fit(ABC)
    check(
        isinstance(got, RemoteObject) and got._hid == lm._hid,
        f"fit should return the model itself (self), but it returned {got!r}.",
    )
    check_prob(got, "b", ("a",), ABC, 2, 0.5, 11 / 28)


@public
def test_probabilities_sum_to_one_on_a_small_corpus(sub):
    """n = 3, d = 0.75: for seen, partially seen and unseen contexts, Σ over V of P(w | ctx) = 1"""
    lm = model(sub, ABC, 3, 0.75)
    check_sums(lm, [("<s>", "a"), ("a", "b"), ("zebra", "b"), ("zebra", "zebra"), ("b",), ()], ABC, 3, 0.75)


def test_trigram_hand_computed(sub):
    """n = 3, d = 0.5: P(b | <s> a) = 1/4 + 1/2·P2(b|a) = 25/56 with P2(b|a) = 11/28; P(c | a b) = 1/2·11/28"""
    lm = model(sub, ABC, 3, 0.5)
    check_prob(lm, "b", ("<s>", "a"), ABC, 3, 0.5, 25 / 56)
    check_prob(lm, "c", ("a", "b"), ABC, 3, 0.5, 11 / 56)  # (a b) seen once, followed by </s>
    for word, context in [("c", ("<s>", "a")), ("</s>", ("a", "b")), ("a", ("<s>", "<s>")), ("c", ("<s>", "b"))]:
        check_prob(lm, word, context, ABC, 3, 0.5)


def test_unigram_model_uses_plain_counts(sub):
    """n = 1 has no lower order: plain counts, P(a) = (2 − ½)/9 + ½·4/9·¼ = 2/9; the context is ignored"""
    lm = model(sub, ABC, 1, 0.5)
    check_prob(lm, "a", (), ABC, 1, 0.5, 2 / 9)
    check_prob(lm, "</s>", (), ABC, 1, 0.5, 3 / 9)
    check_prob(lm, "c", ("a", "b"), ABC, 1, 0.5, 2 / 9, hint="a unigram model ignores its context.")


# ---------------------------------------------------------------- contexts


def test_unseen_context_falls_through(sub):
    """Unseen contexts fall through: P3(c | zebra b) = P2(c | b) = 11/28, P3(c | zebra zebra) = P1(c) = 2/7"""
    hint = "an unseen context (c(ctx) = 0) falls through to the next lower order with ctx[1:]."
    lm = model(sub, ABC, 3, 0.5)
    check_prob(lm, "c", ("zebra", "b"), ABC, 3, 0.5, 11 / 28, hint=hint)
    check_prob(lm, "c", ("zebra", "zebra"), ABC, 3, 0.5, 2 / 7, hint=hint)
    check_prob(model(sub, ABC, 2, 0.5), "b", ("zebra",), ABC, 2, 0.5, 2 / 7, hint=hint)


def test_longer_context_uses_its_last_tokens(sub):
    """Only the last n − 1 context tokens count: P(c | b a b) = P(c | a b)"""
    lm = model(sub, ABC, 3, 0.5)
    check_prob(lm, "c", ("b", "a", "b"), ABC, 3, 0.5, 11 / 56, hint="use the LAST n − 1 tokens of the context.")


def test_shorter_context_is_left_padded(sub):
    """A short context is left-padded with <s>: P(b | (a,)) = P(b | <s> a) = 25/56 for n = 3"""
    hint = 'pad a short context on the LEFT with "<s>".'
    lm = model(sub, ABC, 3, 0.5)
    check_prob(lm, "b", ("a",), ABC, 3, 0.5, 25 / 56, hint=hint)
    check_prob(lm, "a", (), ABC, 3, 0.5, hint=hint)


def test_out_of_vocabulary_word_gets_the_uniform_share(sub):
    """A word outside V has count 0 at every order: only the interpolation weights times 1/|V| remain"""
    # n = 2, d = 0.5: P1(z) = 0 + ½·4/7·¼ = 1/14, so P2(z | a) = 0 + ½·2/2·1/14 = 1/28
    check_prob(model(sub, ABC, 2, 0.5), "z", ("a",), ABC, 2, 0.5, 1 / 28)
    check_prob(model(sub, ABC, 3, 0.75), "z", ("a", "b"), ABC, 3, 0.75)


@pytest.mark.parametrize("n", [2, 3])
def test_continuation_counts_favour_words_with_many_predecessors(sub, n):
    """'Francisco' (5 times, only after 'San') gets less lower-order mass than 'glasses' (3 times, 3 predecessors)"""
    lm = model(sub, FRANCISCO, n, 0.75)
    context = ("without",) * (n - 1)  # unseen: the lower-order distribution decides
    p_francisco = as_number(lm.prob("Francisco", context), "prob")
    p_glasses = as_number(lm.prob("glasses", context), "prob")
    check(
        p_glasses > p_francisco,
        f"in the unseen context {context!r}, P(glasses) = {p_glasses:.4g} should exceed P(Francisco) = "
        f"{p_francisco:.4g}. {_corpus_text(FRANCISCO)} The lower orders must use continuation counts "
        "N1+(• w), the number of distinct words before w (1 for Francisco, 3 for glasses), not how often w occurs.",
    )
    for word in ("Francisco", "glasses", "San", "</s>"):
        check_prob(lm, word, context, FRANCISCO, n, 0.75)
    check_prob(lm, "glasses", ("San",), FRANCISCO, n, 0.75)
    check_prob(lm, "Francisco", ("San",), FRANCISCO, n, 0.75)


# ---------------------------------------------------------------- discounts


def test_discount_zero_is_maximum_likelihood(sub):
    """d = 0: seen contexts give plain relative frequencies (P(b|a) = 1/2); unseen ones the continuation ones (2/7)"""
    lm = model(sub, ABC, 2, 0.0)
    check_prob(lm, "b", ("a",), ABC, 2, 0.0, 1 / 2)
    check_prob(lm, "a", ("a",), ABC, 2, 0.0, 0.0)
    check_prob(lm, "b", ("zebra",), ABC, 2, 0.0, 2 / 7)
    check_prob(lm, "z", ("zebra",), ABC, 2, 0.0, 0.0)
    check_prob(model(sub, ABC, 3, 0.0), "b", ("<s>", "a"), ABC, 3, 0.0, 1 / 2)


def test_discount_one(sub):
    """d = 1: every seen count loses 1, P(b|a) = 0 + 1·2/2·P1(b) = 2/7, P(a|<s>) = 1/3 + 2/3·1/7"""
    lm = model(sub, ABC, 2, 1.0)
    check_prob(lm, "b", ("a",), ABC, 2, 1.0, 2 / 7)
    check_prob(lm, "a", ("<s>",), ABC, 2, 1.0, 1 / 3 + 2 / 3 * 1 / 7)
    check_sums(lm, [("a",), ("<s>",), ("zebra",)], ABC, 2, 1.0)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("d", [0.0, 0.75, 1.0])
def test_probabilities_over_v_sum_to_one(sub, n, d):
    """For every context (seen, partially seen, unseen) Σ over V of P(w | ctx) = 1 within 1e-9"""
    corpus = FRANCISCO + ABC
    lm = model(sub, corpus, n, d)
    contexts = [("<s>", "San"), ("San", "Francisco"), ("a", "b"), ("zebra", "my"), ("zebra", "zebra"), ("b",), ()]
    check_sums(lm, contexts, corpus, n, d)


def test_default_arguments(sub):
    """KneserNeyLM() is a trigram model with discount 0.75"""
    lm = sub.KneserNeyLM()
    lm.fit(FRANCISCO)
    for word, context in [("glasses", ("my",)), ("Francisco", ("<s>", "San")), ("glasses", ("zebra",))]:
        check_prob(lm, word, context, FRANCISCO, 3, 0.75, hint="the defaults are n=3 and discount=0.75.")


# ---------------------------------------------------------------- the model object and errors


def test_fit_replaces_earlier_counts(sub):
    """Fitting again starts from scratch"""
    lm = model(sub, FRANCISCO, 2, 0.75)
    lm.fit(ABC)
    for word, context in [("b", ("a",)), ("c", ("zebra",)), ("glasses", ("my",))]:
        check_prob(lm, word, context, ABC, 2, 0.75, hint="fit should replace the counts of an earlier fit.")


def test_fit_leaves_the_sentences_unchanged(sub):
    """fit does not modify the sentences it is given"""
    corpus = [list(s) for s in ABC]
    sub.KneserNeyLM(3, 0.5).fit(corpus)
    check_unchanged_inputs(sub, ["sentences"])


@pytest.mark.parametrize("discount", [-0.1, 1.5])
def test_discount_outside_unit_interval_raises(sub, discount):
    """discount < 0 or > 1 raises ValueError (the probabilities would no longer sum to 1)"""
    expect_value_error(f"KneserNeyLM(3, discount={discount})", sub.KneserNeyLM, 3, discount)


def test_invalid_order_and_empty_corpus_raise(sub):
    """n < 1 and fit([]) raise ValueError"""
    expect_value_error("KneserNeyLM(0)", sub.KneserNeyLM, 0)
    expect_value_error("KneserNeyLM(2).fit([])", sub.KneserNeyLM(2).fit, [])


# ---------------------------------------------------------------- random corpora against the oracle


@st.composite
def corpus_case(draw):
    words = st.sampled_from(["a", "b", "c", "d", "e"])
    corpus = draw(st.lists(st.lists(words, max_size=6), min_size=1, max_size=5))
    n = draw(st.integers(1, 3))
    d = draw(st.sampled_from([0.0, 0.25, 0.75, 1.0]))
    return corpus, n, d


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
    """Random corpora, n = 1..3, d ∈ {0, 0.25, 0.75, 1}: every P(w | ctx) over V and its sum"""
    corpus, n, d = case
    lm = model(sub, corpus, n, d)
    oracle = Oracle(corpus, n, d)
    seen = sorted({g[:-1] for g in oracle.grams})[:3]
    contexts = [*seen, ("z", "a"), ("a", "z"), ("z", "z"), ("c", "b", "a")]
    for context in contexts:
        for word in sorted(oracle.vocab):
            check_prob(lm, word, context, corpus, n, d)
    check_sums(lm, contexts, corpus, n, d)
