# expect: Time Limit Exceeded
# message: 2 s time limit
"""Ignores SIGXCPU (the soft CPU limit's warning) and spins."""
import signal

signal.signal(signal.SIGXCPU, signal.SIG_IGN)


def total(xs):
    while True:
        pass


class Accumulator:
    def __init__(self, start=0.0):
        self.t = start

    def add(self, x):
        self.t += x

    def value(self):
        return self.t
