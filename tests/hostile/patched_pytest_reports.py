# expect: Wrong Answer
# message: total([1, 2, 3]) should be 6
"""Wrong answers, plus every trick to forge a passing run from inside the process."""
import atexit
import os
import sys

try:
    import _pytest.reports

    _pytest.reports.TestReport.outcome = "passed"
except ImportError:
    pass
print("=== 8 passed in 0.01s ===")
atexit.register(lambda: os._exit(0))
sys.exit = lambda *a: None


def total(xs):
    return -1


class Accumulator:
    def __init__(self, start=0.0):
        self.t = start

    def add(self, x):
        self.t += x

    def value(self):
        return self.t

