class NGramLM:
    """An n-gram language model with add-k smoothing.

    Sentences are lists of tokens; each is padded with n-1 "<s>" in front and one
    "</s>" at the end. V = the distinct training tokens plus "</s>" (never "<s>").
    """

    def __init__(self, n: int, k: float = 0.0):
        """n >= 1 is the order (1: unigram, 2: bigram, ...); k >= 0 the add-k constant.

        Raises:
            ValueError: n < 1 or k < 0.
        """
        raise NotImplementedError

    def fit(self, sentences: list[list[str]]) -> "NGramLM":
        """Count the n-grams of ``sentences`` (replacing earlier counts) and return self.

        Raises:
            ValueError: ``sentences`` is empty.
        """
        raise NotImplementedError

    def prob(self, word: str, context: tuple[str, ...]) -> float:
        """(c(ctx w) + k) / (c(ctx) + k |V|), ctx = the last n-1 tokens of ``context``.

        A context shorter than n-1 is left-padded with "<s>". With k = 0, a context
        never seen in training gives 0.0.
        """
        raise NotImplementedError

    def perplexity(self, sentences: list[list[str]]) -> float:
        """exp(-mean log P) over every word and the "</s>" of each sentence; inf if a P is 0.

        Raises:
            ValueError: ``sentences`` is empty.
        """
        raise NotImplementedError
