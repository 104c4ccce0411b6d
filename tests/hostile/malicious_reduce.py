# expect: Wrong Answer
# message: total
"""Returns an object whose __reduce__ would run a command if anyone unpickled it, and
whose __eq__ claims equality with anything."""
import os


class Payload:
    def __reduce__(self):
        return (os.system, ("touch {{VICTIM}}.pwned",))

    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


def total(xs):
    return Payload()


class Accumulator:
    def __init__(self, start=0.0):
        self.t = start

    def add(self, x):
        self.t += x

    def value(self):
        return Payload()
