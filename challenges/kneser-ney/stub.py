class KneserNeyLM:
    """An n-gram language model with interpolated Kneser-Ney smoothing.

    Sentences are padded as in an add-k n-gram model (n-1 "<s>" in front, one "</s>" at
    the end) and V = the distinct training tokens plus "</s>" (never "<s>").
    """

    def __init__(self, n: int = 3, discount: float = 0.75):
        """n >= 1 is the order; ``discount`` d in [0, 1] is subtracted from every seen count.

        Raises:
            ValueError: n < 1 or discount outside [0, 1].
        """
        raise NotImplementedError

    def fit(self, sentences: list[list[str]]) -> "KneserNeyLM":
        """Collect the counts of every order (replacing earlier ones) and return self.

        Raises:
            ValueError: ``sentences`` is empty.
        """
        raise NotImplementedError

    def prob(self, word: str, context: tuple[str, ...]) -> float:
        """Interpolated Kneser-Ney P(word | context).

        Only the last n-1 tokens of ``context`` count; a shorter context is left-padded
        with "<s>". For every context the probabilities of the words of V sum to 1.
        """
        raise NotImplementedError
