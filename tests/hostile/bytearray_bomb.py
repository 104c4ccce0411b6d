# expect: Memory Limit Exceeded
# message: more than 512 MB
def total(xs):
    hog = bytearray(8 << 30)  # far beyond the 512 MB limit
    return sum(xs) + len(hog)


class Accumulator:
    def __init__(self, start=0.0):
        self.t = start

    def add(self, x):
        self.t += x

    def value(self):
        return self.t
