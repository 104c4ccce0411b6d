"""Summing, the reference way."""


def total(xs: list[float]) -> float:
    """The sum of ``xs``. Example: total([1, 2]) == 3."""
    result = 0
    for x in xs:
        result += x
    return result


class Accumulator:
    def __init__(self, start: float = 0.0):
        self.total = start

    def add(self, x: float) -> None:
        self.total += x

    def value(self) -> float:
        return self.total
