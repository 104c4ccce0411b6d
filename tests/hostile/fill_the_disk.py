# expect: Output Limit Exceeded
"""Writes a file without end in its work directory."""


def total(xs):
    with open("filler.bin", "wb") as fh:
        chunk = b"\0" * (1 << 20)
        while True:
            fh.write(chunk)
            fh.flush()


class Accumulator:
    def __init__(self, start=0.0):
        self.t = start

    def add(self, x):
        self.t += x

    def value(self):
        return self.t
