# expect: Wrong Answer
# message: total([1, 2, 3]) should be 6
"""Wrong answers, and a conftest.py and pytest.ini planted wherever it can write, each
trying to mark every test passed."""
import os

CONFTEST = """
import pytest

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"
"""
for folder in (".", "..", os.path.dirname(os.path.abspath(__file__)), os.path.expanduser("~")):
    for name, text in (("conftest.py", CONFTEST), ("pytest.ini", "[pytest]\naddopts = -p no:lmprep\n")):
        try:
            with open(os.path.join(folder, name), "w") as fh:
                fh.write(text)
        except OSError:
            pass


def total(xs):
    return sum(xs) + 1


class Accumulator:
    def __init__(self, start=0.0):
        self.t = start

    def add(self, x):
        self.t += x

    def value(self):
        return self.t
