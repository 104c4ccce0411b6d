import pytest

from grader.spec import check, points, public


@public
def test_small_list(sub):
    """sums a small list"""
    check(sub.total([1, 2, 3]) == 6, "total([1, 2, 3]) should be 6")


@points(2)
@pytest.mark.parametrize("n", [0, 10])
def test_ranges(sub, ref, n):
    xs = list(range(n))
    got = sub.total(xs)
    check(type(got) is int and got == ref.total(xs), f"total(range({n})) is wrong")


def test_input_untouched(sub):
    sub.total([3, 1, 2])
    check(not sub.last_call.mutated, "the input list was modified")


def test_accumulator(sub):
    acc = sub.Accumulator(1.5)
    acc.add(2)
    check(acc.value() == 3.5, "Accumulator(1.5) then add(2) should hold 3.5")


def test_rejects_strings(sub):
    with pytest.raises(TypeError):
        sub.total(["a", 1])
