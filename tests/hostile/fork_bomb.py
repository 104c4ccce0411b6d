# expect: Time Limit Exceeded
# needs: nonroot
"""Forks without end in a call; the process limit stops the growth, the judge sweeps the rest."""
import os


def total(xs):
    while True:
        try:
            os.fork()
        except OSError:
            pass


class Accumulator:
    def __init__(self, start=0.0):
        self.t = start

    def add(self, x):
        self.t += x

    def value(self):
        return self.t
