def total(xs: list[float]) -> float:
    """The sum of ``xs``."""
    raise NotImplementedError


class Accumulator:
    def __init__(self, start: float = 0.0):
        raise NotImplementedError

    def add(self, x: float) -> None:
        raise NotImplementedError

    def value(self) -> float:
        raise NotImplementedError
