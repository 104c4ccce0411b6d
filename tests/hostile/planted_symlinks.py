# expect: Wrong Answer
# message: total([1, 2, 3]) should be 6
"""Wrong answers, and symbolic links planted where the judge writes and reads its own
files (its log, its report, the output file), pointing at a file the test watches."""
import os

VICTIM = "{{VICTIM}}"
with open(f"/proc/{os.getppid()}/cmdline", "rb") as fh:
    args = fh.read().decode().split("\0")
# the judge's command line names it (a cold judge); the worker's home lies in it (either)
workdir = args[args.index("--workdir") + 1] if "--workdir" in args else os.path.dirname(os.getcwd())
for name in ("pytest.log", "report.json.tmp", "report.json", "output.txt"):
    target = os.path.join(workdir, name)
    try:
        if os.path.lexists(target):
            os.unlink(target)
        os.symlink(VICTIM, target)
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
