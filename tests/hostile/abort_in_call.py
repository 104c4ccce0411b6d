# expect: Crashed
# message: SIGABRT
"""Aborts the process (SIGABRT) in a call."""
import os


def total(xs):
    os.abort()


class Accumulator:
    def __init__(self, start=0.0):
        self.t = start

    def add(self, x):
        self.t += x

    def value(self):
        return self.t
