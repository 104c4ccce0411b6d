# expect: Time Limit Exceeded
# message: 2 s time limit
"""Sleeps instead of computing: uses no CPU, so only the judge's wall clock can stop it."""
import time


def total(xs):
    time.sleep(600)
    return sum(xs)


class Accumulator:
    def __init__(self, start=0.0):
        self.t = start

    def add(self, x):
        self.t += x

    def value(self):
        return self.t
