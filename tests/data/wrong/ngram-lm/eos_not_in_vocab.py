"""Counts "</s>" as a predicted token but builds V from the training words only, so add-k
smoothing divides by c(ctx) + k(|V| - 1).

Written after reading the specs (a fourth mistake, not part of the independent three).

Diagnosis: "</s>" is counted but not in V
"""

import math
from collections import Counter
from collections.abc import Iterator, Sequence

BOS, EOS = "<s>", "</s>"


class NGramLM:
    def __init__(self, n: int, k: float = 0.0):
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        if k < 0:
            raise ValueError(f"k must be non-negative, got {k}")
        self.n = n
        self.k = k
        self.ngram_counts: Counter[tuple[str, ...]] = Counter()  # (*ctx, w) -> c(ctx w)
        self.context_counts: Counter[tuple[str, ...]] = Counter()  # ctx -> c(ctx)
        self.vocab: set[str] = set()

    def _events(self, sentence: Sequence[str]) -> Iterator[tuple[tuple[str, ...], str]]:
        """(context, word) for every word of ``sentence`` and its "</s>", contexts padded with "<s>".

        Example (n = 2): ["I", "am"] -> ((<s>,), I), ((I,), am), ((am,), </s>).
        """
        tokens = [BOS] * (self.n - 1) + list(sentence) + [EOS]  # a new list: the input is left alone
        for i in range(self.n - 1, len(tokens)):
            yield tuple(tokens[i - self.n + 1 : i]), tokens[i]

    def fit(self, sentences: list[list[str]]) -> "NGramLM":
        """Count every n-gram of ``sentences`` (replacing earlier counts); returns the model."""
        if not sentences:
            raise ValueError("fit needs at least one sentence")
        self.ngram_counts, self.context_counts = Counter(), Counter()
        self.vocab = set()
        for sentence in sentences:
            self.vocab.update(sentence)
            for context, word in self._events(sentence):
                self.ngram_counts[(*context, word)] += 1
                self.context_counts[context] += 1
        return self

    def _context(self, context: Sequence[str]) -> tuple[str, ...]:
        """The last n-1 tokens of ``context``, left-padded with "<s>" when it is shorter."""
        width = self.n - 1
        if width == 0:  # a unigram model ignores its context (and context[-0:] would keep it all)
            return ()
        padded = (BOS,) * width + tuple(context)
        return padded[-width:]

    def prob(self, word: str, context: tuple[str, ...]) -> float:
        """Add-k P(word | context); 0.0 for a context never seen in training when k = 0."""
        context = self._context(context)
        denominator = self.context_counts[context] + self.k * len(self.vocab)
        if denominator == 0:  # unseen context and k = 0: no evidence at all
            return 0.0
        return (self.ngram_counts[(*context, word)] + self.k) / denominator

    def perplexity(self, sentences: list[list[str]]) -> float:
        """exp of the mean negative log-probability of every word and "</s>"; inf if one is 0."""
        if not sentences:
            raise ValueError("perplexity needs at least one sentence")
        total_log_prob, count = 0.0, 0
        for sentence in sentences:
            for context, word in self._events(sentence):
                p = self.prob(word, context)
                if p == 0.0:
                    return math.inf
                total_log_prob += math.log(p)
                count += 1
        return math.exp(-total_log_prob / count)
