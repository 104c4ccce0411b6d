# expect: Crashed
# message: SIGSEGV
import ctypes


def total(xs):
    ctypes.string_at(0)


class Accumulator:
    def __init__(self, start=0.0):
        self.t = start

    def add(self, x):
        self.t += x

    def value(self):
        return self.t
