"""Specs for KneserNeyLM: hand-worked probabilities, an independent straightforward
implementation of interpolated Kneser-Ney (below) on fixed and random corpora, sums over V
for seen, unseen and partially seen contexts, the continuation-count effect ("San
Francisco"), discounts 0 and 1, n = 1, 2, 3, and the ValueError cases."""

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from grader.spec import RemoteException, RemoteObject, check, describe_value, fail, lazy, public

ABC = [["a", "b"], ["a", "c"], ["b", "c"]]  # V = {a, b, c, </s>}
FRANCISCO = [["San", "Francisco"]] * 5 + [["my", "glasses"], ["new", "glasses"], ["reading", "glasses"]]
RTOL, ATOL = 1e-9, 1e-12


# ---------------------------------------------------------------- an independent oracle


class Oracle:
    """Interpolated Kneser-Ney written straight from the definition: every count is a scan
    over the list of counted n-grams. Switches reproduce typical mistakes (for diagnoses):
    ``short_context`` is "pad" (right), "unigram" (an unpadded short context ends at P_1) or
    "lower" (it is used at the order it fits, P_{len + 1})."""

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
        eos_in_vocab=True,
        unseen_to_unigram=False,
        first_tokens=False,
        plain_lower_total=False,
        padding_grams=False,
        history_continuation=False,
        short_context="pad",
    ):
        self.n, self.d = n, d
        self.continuation, self.lower_discount, self.n1plus_weight = continuation, lower_discount, n1plus_weight
        self.uniform, self.unseen_zero = uniform, unseen_zero
        self.unseen_to_unigram, self.first_tokens, self.short_context = unseen_to_unigram, first_tokens, short_context
        self.plain_lower_total, self.padding_grams = plain_lower_total, padding_grams
        self.history_continuation = history_continuation
        self.grams = []  # one n-gram per word and "</s>" of every padded sentence
        self.vocab = ({"</s>"} if eos_in_vocab else set()) | ({"<s>"} if bos_in_vocab else set())
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
        if self.padding_grams and gram == ("<s>",) * m:  # the padding-only (m+1)-gram <s> ... <s>
            return 1
        if self.history_continuation:  # distinct n-grams ending in gram, not distinct tokens before it
            return len(set(endings))
        return len({g[len(g) - m - 1] for g in endings})

    def p(self, m, word, ctx):
        """P_m(word | ctx) for a context of m - 1 tokens; P_0 is uniform over V."""
        if m == 0:
            return 1 / len(self.vocab)
        lower = self.p(m - 1, word, ctx[1:])
        followers = {g[-1] for g in self.grams if g[len(g) - m : -1] == ctx}
        if self.padding_grams and m < self.n and ctx == ("<s>",) * (m - 1):
            followers.add("<s>")
        total = sum(self.count(m, (*ctx, w)) for w in followers)
        if self.plain_lower_total and m < self.n:  # continuation counts over plain context counts
            total = sum(1 for g in self.grams if g[len(g) - m : -1] == ctx)
        if total == 0:
            return 0.0 if self.unseen_zero else lower
        if m == 1 and not self.uniform:
            return self.count(1, (word,)) / total
        d = self.d if m == self.n or self.lower_discount else 0.0
        weight = d * (len(followers) if self.n1plus_weight else 1) / total
        return max(self.count(m, (*ctx, word)) - d, 0) / total + weight * lower

    def prob(self, word, context):
        context, width = tuple(context), self.n - 1
        if len(context) < width and self.short_context != "pad":
            if self.short_context == "unigram":
                return self.p(1, word, ())
            return self.p(len(context) + 1, word, context)
        if self.first_tokens and len(context) >= width:
            ctx = context[:width]
        else:
            padded = ("<s>",) * width + context
            ctx = padded[len(padded) - width :]
        if self.unseen_to_unigram and not any(g[:-1] == ctx for g in self.grams):
            return self.p(1, word, ())
        return self.p(self.n, word, ctx)


NOT_UNIFORM = "the unigram level is not interpolated with the uniform distribution 1/|V|."
NOT_DISCOUNTED = "the lower orders are not discounted: discount and interpolate at every order."
MISTAKES = [
    (
        {"continuation": False},
        "the lower orders use plain counts: they need continuation counts N1+(• ctx w), the number of distinct "
        "tokens before ctx w.",
    ),
    ({"uniform": False}, NOT_UNIFORM),
    ({"n1plus_weight": False}, "the interpolation weight misses the N1+(ctx •) factor: it is d·N1+(ctx •)/c(ctx)."),
    ({"lower_discount": False}, NOT_DISCOUNTED),
    ({"unseen_zero": True}, "an unseen context gives 0: it should fall through to the next lower order."),
    ({"bos_in_vocab": True}, '"<s>" is counted in V: V holds the training tokens and "</s>", never "<s>".'),
    ({"eos_in_vocab": False}, '"</s>" is counted but not in V: V is the training tokens plus "</s>".'),
    (
        {"unseen_to_unigram": True},
        "an unseen context jumps straight to the unigram level: it should fall through one order at a time, "
        "with ctx[1:].",
    ),
    ({"first_tokens": True}, "the first n-1 tokens of a longer context are kept: only the LAST n-1 tokens count."),
    (
        {"plain_lower_total": True},
        "the lower orders divide continuation counts by plain context counts: c_m(ctx) must be the sum of the "
        "continuation counts c_m(ctx w).",
    ),
    (
        {"padding_grams": True},
        "the continuation counts include n-grams made only of padding, such as (<s>, <s>): only the endings "
        "of counted n-grams count.",
    ),
    (
        {"history_continuation": True},
        "the continuation counts count distinct n-grams ending in ctx w: N1+(• ctx w) counts the distinct "
        "single tokens v just before it.",
    ),
    ({"short_context": "unigram"}, 'a short context is not left-padded with "<s>" to n − 1 tokens.'),
    ({"short_context": "lower"}, 'a short context is not left-padded with "<s>" to n − 1 tokens.'),
]


def _close(a, b):
    return abs(a - b) <= ATOL + RTOL * abs(b)


def diagnose(got, expected, corpus, n, d, word, context):
    """The typical mistake whose value the submission's matches (and the right one does not),
    or '' when none does, or several different ones do (the value cannot tell them apart)."""
    found = set()
    for flags, diagnosis in MISTAKES:
        wrong = Oracle(corpus, n, d, **flags).prob(word, context)
        if not _close(wrong, expected) and _close(got, wrong):
            found.add(diagnosis)
    if found == {NOT_UNIFORM, NOT_DISCOUNTED}:  # (undiscounted lower orders do not interpolate with 1/|V| either)
        return NOT_UNIFORM
    return found.pop() if len(found) == 1 else ""


def as_number(got, what):
    """``got`` as a float, failing unless it is a real number (int or float)."""
    __tracebackhide__ = True
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        fail(f"{what} should return a float, but it returned {describe_value(got)}.")
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


def _what(n, d, word, context):
    return f"KneserNeyLM(n={n}, discount={d:g}).prob({word!r}, {tuple(context)!r})"


def check_prob(lm, word, context, corpus, n, d, expected=None, hint="", returned=None, diagnosis=None):
    """Check lm.prob(word, context) (or what it ``returned``, computed already) against
    ``expected`` (default: the oracle). ``hint``: general advice for the message;
    ``diagnosis``: a function of the value returned naming the mistake (default: `diagnose`)."""
    __tracebackhide__ = True
    what = _what(n, d, word, context)
    want = Oracle(corpus, n, d).prob(word, context) if expected is None else expected
    got = as_number(lm.prob(word, tuple(context)) if returned is None else returned, what)
    if not _close(got, want):
        recognise = diagnosis or (lambda got: diagnose(got, want, corpus, n, d, word, context))
        fail(
            f"{what} returned {got!r}, expected {want!r}. {_corpus_text(corpus)}{' ' + hint if hint else ''}",
            diagnosis=lazy(recognise, got),
        )


def prob_each(sub, lm, calls, n, d):
    """[lm.prob(word, context) for (word, context) in calls], in one round trip."""
    calls = [(word, tuple(context)) for word, context in calls]
    return sub.call_each(lm.prob, calls, lambda word, context: _what(n, d, word, context))


def check_sums(sub, lm, contexts, corpus, n, d):
    """Σ over V of prob(w, ctx) = 1 (within 1e-9) for each context."""
    __tracebackhide__ = True
    oracle = Oracle(corpus, n, d)
    vocab = sorted(oracle.vocab)
    for context in contexts:
        got = prob_each(sub, lm, [(w, context) for w in vocab], n, d)
        total = sum(as_number(p, _what(n, d, w, context)) for w, p in zip(vocab, got))
        if abs(total - 1) > 1e-9:
            wrong = [(w, p, oracle.prob(w, context)) for w, p in zip(vocab, got)]
            w, p, want = next((case for case in wrong if not _close(case[1], case[2])), wrong[0])
            fail(
                f"KneserNeyLM(n={n}, discount={d:g}): the probabilities over V = {vocab} for context "
                f"{tuple(context)!r} sum to {total!r}, not 1 (prob({w!r}, {tuple(context)!r}) returned {p!r}, "
                f"expected {want!r}). {_corpus_text(corpus)}",
                diagnosis=lazy(diagnose, p, want, corpus, n, d, w, context),
            )


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
    """fit returns the model itself (self), so KneserNeyLM(2, 0.5).fit(corpus).prob(...) works"""
    lm = sub.KneserNeyLM(2, 0.5)
    got = lm.fit(ABC)
    check(
        isinstance(got, RemoteObject) and got._hid == lm._hid,
        f"KneserNeyLM(2, 0.5).fit(corpus) should return the model itself (self), but it returned "
        f"{describe_value(got)}.",
        diagnosis="fit has no `return self`, so it returns None." if got is None else "",
    )


@public
def test_probabilities_sum_to_one_on_a_small_corpus(sub):
    """n = 3, d = 0.75: for seen, partially seen and unseen contexts, Σ over V of P(w | ctx) = 1"""
    lm = model(sub, ABC, 3, 0.75)
    check_sums(sub, lm, [("<s>", "a"), ("a", "b"), ("zebra", "b"), ("zebra", "zebra"), ("b",), ()], ABC, 3, 0.75)


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
        diagnosis=lazy(
            diagnose,
            p_francisco,
            Oracle(FRANCISCO, n, 0.75).prob("Francisco", context),
            FRANCISCO,
            n,
            0.75,
            "Francisco",
            context,
        ),
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
    check_sums(sub, lm, [("a",), ("<s>",), ("zebra",)], ABC, 2, 1.0)


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("d", [0.0, 0.75, 1.0])
def test_probabilities_over_v_sum_to_one(sub, n, d):
    """For every context (seen, partially seen, unseen) Σ over V of P(w | ctx) = 1 within 1e-9"""
    corpus = FRANCISCO + ABC
    lm = model(sub, corpus, n, d)
    contexts = [("<s>", "San"), ("San", "Francisco"), ("a", "b"), ("zebra", "my"), ("zebra", "zebra"), ("b",), ()]
    check_sums(sub, lm, contexts, corpus, n, d)


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
    both = Oracle(FRANCISCO + ABC, 2, 0.75)  # what a fit that adds to the earlier counts gives
    for word, context in [("b", ("a",)), ("c", ("zebra",)), ("glasses", ("my",))]:
        want, wrong = Oracle(ABC, 2, 0.75).prob(word, context), both.prob(word, context)
        check_prob(
            lm,
            word,
            context,
            ABC,
            2,
            0.75,
            hint="fit should replace the counts of an earlier fit.",
            diagnosis=lambda got, wrong=wrong, want=want: (
                "fit adds to the counts of the earlier fit instead of replacing them (start from empty counts)."
                if _close(got, wrong) and not _close(wrong, want)
                else ""
            ),
        )


def test_fit_leaves_the_sentences_unchanged(sub):
    """fit does not modify the sentences it is given"""
    corpus = [list(s) for s in ABC]
    sub.KneserNeyLM(3, 0.5).fit(corpus)
    check(
        not sub.last_call.mutated,
        "KneserNeyLM(3, 0.5).fit(sentences) modified the sentences it was given; they must be left unchanged.",
        diagnosis='fit modifies the sentences in place: pad a new list, ["<s>"] * (n - 1) + sentence + ["</s>"], '
        "not the sentence itself.",
    )


@pytest.mark.parametrize("discount", [-0.1, 1.5])
def test_discount_outside_unit_interval_raises(sub, discount):
    """discount < 0 or > 1 raises ValueError (the probabilities would no longer sum to 1)"""
    side = "below 0" if discount < 0 else "above 1"
    expect_value_error(
        f"KneserNeyLM(3, discount={discount})",
        sub.KneserNeyLM,
        3,
        discount,
        diagnosis=f"a discount {side} is not rejected: the constructor must raise ValueError for d outside [0, 1].",
    )


def test_invalid_order_and_empty_corpus_raise(sub):
    """n < 1 and fit([]) raise ValueError"""
    expect_value_error(
        "KneserNeyLM(0)", sub.KneserNeyLM, 0, diagnosis="n < 1 is not rejected: the constructor must raise ValueError."
    )
    expect_value_error(
        "KneserNeyLM(2).fit([])",
        sub.KneserNeyLM(2).fit,
        [],
        diagnosis="an empty list of sentences is not rejected: fit([]) must raise ValueError.",
    )


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
    calls = [(word, context) for context in contexts for word in sorted(oracle.vocab)]
    for (word, context), got in zip(calls, prob_each(sub, lm, calls, n, d)):
        check_prob(lm, word, context, corpus, n, d, returned=got)
    check_sums(sub, lm, contexts, corpus, n, d)
