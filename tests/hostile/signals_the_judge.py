# expect: Accepted
# needs: landlock-signals
"""Correct answers, after trying to stop and kill the judge (its parent)."""
import os
import signal

SENT = []
for sig in (signal.SIGSTOP, signal.SIGKILL):
    try:
        os.kill(os.getppid(), sig)
        SENT.append(sig.name)
    except OSError:
        pass


def total(xs):
    if SENT:
        raise RuntimeError(f"signalled the judge: {SENT}")
    return sum(xs)


class Accumulator:
    def __init__(self, start=0.0):
        self.t = start

    def add(self, x):
        self.t += x

    def value(self):
        return self.t
