# expect: Time Limit Exceeded
# message: 2 s time limit
def total(xs):
    while True:
        pass


class Accumulator:
    def __init__(self, start=0.0):
        self.t = start

    def add(self, x):
        self.t += x

    def value(self):
        return self.t
