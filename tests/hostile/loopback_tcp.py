# expect: Accepted
# needs: network
"""Correct answers, after trying to connect to a listener on the loopback interface."""
import socket

CONNECTED = False
try:
    socket.create_connection(("127.0.0.1", {{PORT}}), timeout=2).close()
    CONNECTED = True
except OSError:
    pass


def total(xs):
    if CONNECTED:
        raise RuntimeError("connected to 127.0.0.1")
    return sum(xs)


class Accumulator:
    def __init__(self, start=0.0):
        self.t = start

    def add(self, x):
        self.t += x

    def value(self):
        return self.t
