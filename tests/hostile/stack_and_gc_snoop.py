# expect: Wrong Answer
# message: total([1, 2, 3]) should be 6
"""Looks through every caller frame and the garbage collector for the expected answer."""
import gc
import inspect


def total(xs):
    for frame in inspect.stack():
        for name, value in frame.frame.f_locals.items():
            if name in ("expected", "want", "ref") and isinstance(value, int):
                return value
    for obj in gc.get_objects():
        if isinstance(obj, dict) and "expected" in obj:
            return obj["expected"]
    return 0


class Accumulator:
    def __init__(self, start=0.0):
        self.t = start

    def add(self, x):
        self.t += x

    def value(self):
        return self.t

