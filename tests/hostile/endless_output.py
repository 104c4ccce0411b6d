# expect: Output Limit Exceeded
# message: printed more than 64 KB
def total(xs):
    for _ in range(100000):
        print("x" * 100)  # 10 MB against a 64 KB cap
    return sum(xs)


class Accumulator:
    def __init__(self, start=0.0):
        self.t = start

    def add(self, x):
        self.t += x

    def value(self):
        return self.t
