# expect: Wrong Answer
# message: total([1, 2, 3]) should be 6
"""Returns objects that claim to equal anything."""


class Liar:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False


class LyingInt(int):
    def __eq__(self, other):
        return True


def total(xs):
    return Liar() if len(xs) < 5 else LyingInt(0)


class Accumulator:
    def __init__(self, start=0.0):
        self.t = start

    def add(self, x):
        self.t += x

    def value(self):
        return self.t

