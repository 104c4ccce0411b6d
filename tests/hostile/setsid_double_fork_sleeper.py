# expect: Accepted
"""Correct answers, but leaves a detached sleeping grandchild behind (setsid + double fork)."""
import os
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(120)
    os._exit(0)


def total(xs):
    result = 0
    for x in xs:
        result += x
    return result


class Accumulator:
    def __init__(self, start=0.0):
        self.t = start

    def add(self, x):
        self.t += x

    def value(self):
        return self.t

