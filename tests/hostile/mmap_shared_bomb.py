# expect: Memory Limit Exceeded
# message: more than 512 MB
"""Maps 8 GiB of shared anonymous memory and touches it."""
import mmap


def total(xs):
    block = mmap.mmap(-1, 8 << 30)  # MAP_SHARED | MAP_ANONYMOUS
    for offset in range(0, len(block), 1 << 20):
        block[offset] = 1
    return sum(xs)


class Accumulator:
    def __init__(self, start=0.0):
        self.t = start

    def add(self, x):
        self.t += x

    def value(self):
        return self.t
