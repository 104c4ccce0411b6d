# expect: Runtime Error
# message: ended the worker process (exit status 0)
import os


def total(xs):
    os._exit(0)


class Accumulator:
    def __init__(self, start=0.0):
        self.t = start

    def add(self, x):
        self.t += x

    def value(self):
        return self.t
