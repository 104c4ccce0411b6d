def total(xs):
    return sum(xs[1:])


class Accumulator:
    def __init__(self, start=0.0):
        self.t = start

    def add(self, x):
        self.t += x

    def value(self):
        return self.t
