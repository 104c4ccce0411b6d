"""Accumulator is a function, not a class."""


def total(xs):
    return sum(xs)


def Accumulator(start=0.0):
    return start
