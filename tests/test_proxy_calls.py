"""Calls into the worker: a method called again costs one round trip (`RemoteMethod`),
and `call_each` runs a batch of calls in one, naming the call that fails."""

import shutil

from grader import grade
from tests.conftest import TOY_CHALLENGES

SPEC = """
import pytest

from grader.proxy import ForbiddenAPI, RemoteMethod, RemoteObject


def test_a_method_seen_before_is_called_in_one_trip(sub):
    first = sub.Accumulator(1.0)  # sub.Accumulator is read (a class), then called
    first.add(2.0)
    again = sub.Accumulator(0.0)
    assert isinstance(sub.Accumulator, RemoteMethod) and isinstance(again.add, RemoteMethod)
    add = again.add
    add(5.0)
    again.add(1.0)
    assert again.value() == 6.0 and first.value() == 3.0
    assert again.total == 6.0  # a plain attribute is still read, never called
    assert isinstance(again.add._fetch(), RemoteObject) and again.add._type == "method"


def test_a_method_rebound_on_the_instance_is_the_one_called(sub):
    acc = sub.Accumulator(0.0)
    acc.value()
    acc.rebind_value()  # the instance's value() now returns -1
    assert acc.value() == -1


def test_call_each_returns_every_value_in_order(sub):
    assert sub.call_each(sub.total, [([1, 2],), ([],), ([0.5],)]) == [3, 0, 0.5]
    acc = sub.Accumulator(0.0)
    assert sub.call_each(acc.add, [(1,), (2,)]) == [None, None]
    assert acc.value() == 3


def test_call_each_stops_at_the_failing_call_and_names_it(sub):
    acc = sub.Accumulator(0.0)
    acc.add(0)
    with pytest.raises(TypeError) as info:
        sub.call_each(acc.add, [(1,), ("x",), (4,)])
    assert "(in the call add('x'))" in str(info.value)
    assert acc.value() == 1
    with pytest.raises(TypeError) as info:
        sub.call_each(acc.add, [("y",)], lambda x: f"acc.add({x!r}) after adding 1")
    assert "(in the call acc.add('y') after adding 1)" in str(info.value)


def test_seed_seeds_the_workers_global_rngs(sub):
    sub.seed(7)
    first = sub.draw()
    sub.seed(7)
    assert sub.draw() == first and sub.draw() != first


def test_call_each_reports_a_forbidden_call(sub):
    with pytest.raises(ForbiddenAPI):
        sub.call_each(sub.fsum_total, [([1.0],), ([2.0],)])
"""

SUBMISSION = """
import importlib
import random


def draw():
    return random.random()


def total(xs):
    return sum(xs)


def fsum_total(xs):
    return getattr(importlib.import_module("ma" + "th"), "fs" + "um")(xs)


class Accumulator:
    def __init__(self, start=0.0):
        self.total = start

    def add(self, x):
        self.total += x

    def value(self):
        return self.total

    def rebind_value(self):
        self.value = lambda: -1
"""


def test_method_calls_and_call_each_in_the_worker(tmp_path):
    challenge = tmp_path / "toy-sum"
    shutil.copytree(TOY_CHALLENGES / "toy-sum", challenge)
    (challenge / "spec" / "test_calls.py").write_text(SPEC)
    submission = tmp_path / "answer.py"
    submission.write_text(SUBMISSION)
    report = grade(challenge, submission)
    calls = [t for t in report.tests if "test_calls.py" in t.id]
    assert len(calls) == 6
    assert all(t.outcome == "passed" for t in calls), [(t.name, t.message) for t in calls if t.outcome != "passed"]
