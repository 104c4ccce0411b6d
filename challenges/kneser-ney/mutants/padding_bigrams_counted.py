"""Continuation counts also count n-grams inside the padding, such as (<s>, <s>).

Diagnosis: made only of padding
"""

from collections import Counter
from collections.abc import Sequence

BOS, EOS = "<s>", "</s>"


class KneserNeyLM:
    def __init__(self, n: int = 3, discount: float = 0.75):
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        if not 0 <= discount <= 1:  # also rejects nan
            raise ValueError(f"discount must lie in [0, 1], got {discount}")
        self.n = n
        self.discount = discount
        self.counts: dict[int, Counter] = {}  # order m -> {m-gram: c_m(m-gram)}
        self.context_totals: dict[int, Counter] = {}  # order m -> {ctx: c_m(ctx)}
        self.context_types: dict[int, Counter] = {}  # order m -> {ctx: N1+(ctx .)}
        self.vocab: set[str] = set()

    def fit(self, sentences: list[list[str]]) -> "KneserNeyLM":
        """Collect the counts of every order from ``sentences`` (replacing earlier ones); returns self."""
        if not sentences:
            raise ValueError("fit needs at least one sentence")
        n = self.n
        top: Counter = Counter()  # n-gram -> count, one n-gram per word and "</s>"
        self.vocab = {EOS}
        for sentence in sentences:
            self.vocab.update(sentence)
            tokens = [BOS] * (n - 1) + list(sentence) + [EOS]
            for i in range(n - 1, len(tokens)):
                top[tuple(tokens[i - n + 1 : i + 1])] += 1
        self.counts = {n: top}
        for m in range(n - 1, 0, -1):
            extended = {gram[-(m + 1) :] for gram in top} | {(BOS,) * (m + 1)}
            self.counts[m] = Counter(gram[1:] for gram in extended)  # N1+(. ctx w)
        self.context_totals = {m: Counter() for m in self.counts}
        self.context_types = {m: Counter() for m in self.counts}
        for m, counts in self.counts.items():
            for gram, count in counts.items():
                self.context_totals[m][gram[:-1]] += count
                self.context_types[m][gram[:-1]] += 1
        return self

    def _context(self, context: Sequence[str]) -> tuple[str, ...]:
        """The last n-1 tokens of ``context``, left-padded with "<s>" when it is shorter."""
        padded = (BOS,) * (self.n - 1) + tuple(context)
        return padded[len(padded) - (self.n - 1) :]

    def prob(self, word: str, context: tuple[str, ...]) -> float:
        """Interpolated Kneser-Ney P(word | context), built up from the uniform distribution."""
        n, d = self.n, self.discount
        context = self._context(context)
        p = 1.0 / len(self.vocab)  # P_0: uniform over V
        for m in range(1, n + 1):
            ctx = context[n - m :]  # the last m-1 tokens
            total = self.context_totals[m][ctx]
            if total == 0:  # unseen context: P_m = P_{m-1}
                continue
            count = self.counts[m][(*ctx, word)]
            weight = d * self.context_types[m][ctx] / total  # the mass the discount freed
            p = max(count - d, 0) / total + weight * p
        return p
