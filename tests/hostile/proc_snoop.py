# expect: Accepted
# needs: landlock
"""Correct answers, after trying to read the judge's environment and memory through /proc."""
import os

LEAKED = []
judge = os.getppid()
for name in ("environ", "mem", "maps", "fd/0"):
    try:
        with open(f"/proc/{judge}/{name}", "rb") as fh:
            fh.read(1)
        LEAKED.append(name)
    except OSError:
        pass


def total(xs):
    if LEAKED:
        raise RuntimeError(f"read the judge's {LEAKED}")
    return sum(xs)


class Accumulator:
    def __init__(self, start=0.0):
        self.t = start

    def add(self, x):
        self.t += x

    def value(self):
        return self.t
