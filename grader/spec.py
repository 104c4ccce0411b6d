"""The API hidden specs are written against.

A spec is a pytest file in ``challenges/<slug>/spec/``. It receives the fixtures ``sub``
(the submission, in the worker), ``ref`` (the reference module, here in the judge) and
``device``, and checks what comes back with the helpers below, whose failure messages
follow SPEC_GUIDE.md: what was checked, the inputs' shapes/dtypes/device, the largest
error and where, the seed, and the likely mistake when the spec can tell. They never
print a hidden case's expected values in full.

    from grader.spec import check_close, describe, public, randn

    @public
    def test_rows_sum_to_one(sub):
        x = randn(2, 5, seed=0)
        check_close(sub.softmax(x).sum(-1), torch.ones(2), what="row sums", inputs=describe(x=x))
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import numpy as np
import pytest

from grader.proxy import GradResult, RemoteException, RemoteMethod, RemoteObject, Submission
from grader.wire import FigureSummary, remote_meta

__all__ = [
    "FigureSummary",
    "GradResult",
    "RemoteException",
    "RemoteObject",
    "Submission",
    "check",
    "check_close",
    "check_grads",
    "check_param_grads",
    "check_unchanged_inputs",
    "describe",
    "Mistake",
    "describe_value",
    "diagnosed",
    "diagnosing",
    "expect_raises",
    "fail",
    "lazy",
    "once_per_worker",
    "points",
    "public",
    "randn",
    "remote_meta",
    "time_limit",
    "tolerance",
]

points = pytest.mark.points
public = pytest.mark.public
time_limit = pytest.mark.time_limit

# (rtol, atol) by dtype and kind of computation: SPEC_GUIDE.md's table
TOLERANCES = {
    "float64": {"elementwise": (1e-7, 1e-7), "reduction": (1e-7, 1e-7), "model": (1e-6, 1e-6), "grad": (1e-7, 1e-7)},
    "float32": {"elementwise": (1.3e-6, 1e-5), "reduction": (1e-5, 1e-5), "model": (1e-4, 1e-4), "grad": (1e-4, 1e-4)},
    "float16": {"elementwise": (1e-3, 1e-3), "reduction": (1e-2, 1e-2), "model": (1e-2, 1e-2), "grad": (5e-2, 5e-2)},
    "bfloat16": {
        "elementwise": (1.6e-2, 1e-2),
        "reduction": (5e-2, 5e-2),
        "model": (5e-2, 5e-2),
        "grad": (5e-2, 5e-2),
    },
}


def _dtype_name(dtype: Any) -> str:
    return str(dtype).removeprefix("torch.")


def tolerance(dtype: Any, kind: str = "elementwise") -> tuple[float, float]:
    """(rtol, atol) for ``dtype`` and ``kind`` (elementwise, reduction, model, grad)."""
    return TOLERANCES.get(_dtype_name(dtype), TOLERANCES["float64"])[kind]


class Mistake(AssertionError):
    """A failed check: ``message`` says what differs; ``diagnosis``, where the spec
    recognised the mistake, names it in the learner's words ("the gates are taken in the
    order i, f, o, g"). The Report shows first the first failure that has a diagnosis."""

    def __init__(self, message: str, diagnosis: str = ""):
        super().__init__(message)
        self.diagnosis = diagnosis


def diagnosed(diagnosis: str | Callable[[], str]) -> str:
    """``diagnosis`` as text: a function is called now (and only now: a diagnosis that
    reruns oracles costs work, and is needed only once a check failed). A diagnosis that
    fails on an odd answer is no diagnosis, never a fault of the grader's."""
    if not callable(diagnosis):
        return diagnosis or ""
    try:
        return diagnosis() or ""
    except Exception:  # noqa: BLE001 - the failure stands without its diagnosis
        return ""


@contextmanager
def diagnosing(diagnosis: str | Callable[[], str]) -> Iterator[None]:
    """Attach ``diagnosis`` to a failure inside the block that has none: a check's
    `Mistake`, or an exception the learner's code raised (it stays a Runtime Error,
    now with the mistake named). A function is called only on such a failure.

        with diagnosing(lazy(why_it_raised, Q, K, V, mask)):
            out, weights = sub.scaled_dot_product_attention(Q, K, V, mask)
    """
    try:
        yield
    except (Mistake, RemoteException) as exc:
        if not getattr(exc, "diagnosis", ""):
            exc.diagnosis = diagnosed(diagnosis)
        raise


def fail(message: str, *, diagnosis: str | Callable[[], str] = "") -> NoReturn:
    """Fail the test as a Wrong Answer with ``message`` (what differs) shown to the
    learner and, where the spec recognised the mistake, its ``diagnosis``."""
    __tracebackhide__ = True
    raise Mistake(message, diagnosed(diagnosis))


def check(condition: Any, message: str, *, diagnosis: str | Callable[[], str] = "") -> None:
    """Fail with ``message`` (and ``diagnosis``) unless ``condition`` holds."""
    __tracebackhide__ = True
    if not condition:
        fail(message, diagnosis=diagnosis)


def _device_of(value: Any) -> str:
    meta = remote_meta(value)
    return meta.device if meta is not None else str(getattr(value, "device", "cpu"))


def describe(**named: Any) -> str:
    """``"Q float32[2, 4, 8] on cpu, k=3"``: the inputs of a case, for messages."""
    parts = []
    for name, value in named.items():
        if hasattr(value, "shape") and hasattr(value, "dtype"):
            dtype = _dtype_name(value.dtype)
            where = f" on {_device_of(value)}" if hasattr(value, "device") else ""
            parts.append(f"{name} {dtype}{list(value.shape)}{where}")
        else:
            text = repr(value)
            parts.append(f"{name}={text if len(text) <= 60 else text[:57] + '...'}")
    return ", ".join(parts)


def _kind_of(value: Any) -> str:
    if isinstance(value, RemoteObject):
        return f"an object of type {value._type}"
    return f"a {type(value).__name__}"


def lazy(diagnose: Callable[..., str], *args: Any, **kwargs: Any) -> Callable[[], str]:
    """``diagnose(*args, **kwargs)``, called only if a check fails (a ``diagnosis`` for
    `check_close`, `check` or `fail`); the arguments are bound now, so it is safe in a loop."""
    return lambda: diagnose(*args, **kwargs)


def describe_value(value: Any) -> str:
    """What a call returned, for a message: ``a NGramLM object`` for an object that stays
    in the worker, ``a tensor float32[2, 3]``, ``a numpy array float64[2]``, ``None``, or a short repr."""
    if isinstance(value, RemoteObject):
        name = value._type
        return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name} object"
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        kind = "tensor" if hasattr(value, "detach") else "numpy array"
        return f"a {kind} {_dtype_name(value.dtype)}{list(value.shape)}"
    if isinstance(value, (tuple, list)) and any(hasattr(v, "shape") or isinstance(v, RemoteObject) for v in value):
        return f"a {type(value).__name__} ({', '.join(describe_value(v) for v in value)})"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def expect_raises(
    exception: type[BaseException],
    fn: Callable[..., Any],
    *args: Any,
    call: str = "",
    diagnosis: str | Callable[[], str] = "",
    **kwargs: Any,
) -> BaseException:
    """``fn(*args, **kwargs)`` must raise ``exception``; returns it. Otherwise a Wrong
    Answer that names the call (``call``, default ``fn(args...)``) and what came instead:
    the value it returned, or the other exception it raised (with ``diagnosis``, as `fail`)."""
    __tracebackhide__ = True
    if not call:
        remote = isinstance(fn, (RemoteObject, RemoteMethod))
        name = (fn._name if remote else getattr(fn, "__name__", "")) or "the function"
        shown = [describe_value(a) if hasattr(a, "shape") else _short_repr(a) for a in args]
        shown += [f"{k}={_short_repr(v)}" for k, v in kwargs.items()]
        call = f"{name}({', '.join(shown)})"
    try:
        value = fn(*args, **kwargs)
    except exception as exc:
        return exc
    except RemoteException as exc:
        fail(
            f"{call} should raise {exception.__name__}, but it raised {exc.type_name}: {exc.remote_message}",
            diagnosis=diagnosis,
        )
    fail(f"{call} should raise {exception.__name__}, but it returned {describe_value(value)}.", diagnosis=diagnosis)


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def randn(*shape: int, seed: int, dtype: Any = None, scale: float = 1.0) -> Any:
    """A seeded standard-normal torch tensor (drawn in float64, then cast)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    value = torch.randn(*shape, generator=gen, dtype=torch.float64) * scale
    return value.to(dtype or torch.float32)


def _to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor
        import torch

        value = value.detach().cpu()
        if value.dtype in (torch.bfloat16, torch.float16) or value.dtype.is_floating_point:
            value = value.to(torch.float64)
        return value.numpy()
    return np.asarray(value)


def _index(flat: int, shape: tuple[int, ...]) -> str:
    return str([int(i) for i in np.unravel_index(flat, shape)]) if shape else "[]"


def check_close(
    got: Any,
    expected: Any,
    *,
    what: str = "the output",
    kind: str = "elementwise",
    rtol: float | None = None,
    atol: float | None = None,
    inputs: str = "",
    seed: int | None = None,
    hint: str = "",
    diagnosis: str | Callable[[], str] = "",
    device: str | None = None,
    dtype: Any = None,
) -> None:
    """Compare a tensor or array from the submission with the oracle's.

    Checks, in order: the type, the device (``device``, for tensors), the dtype (``dtype``,
    default ``expected``'s), the shape, where the nans and infinities are, then the values
    with ``rtol``/``atol`` (default: `tolerance` for the dtype and ``kind``). On a failure
    the message ends with the inputs, the seed and ``hint`` (general advice), and carries
    ``diagnosis`` (the mistake recognised: see `fail`; a function is called only then).
    """
    __tracebackhide__ = True

    def context() -> str:
        return "".join(
            [
                f" Inputs: {inputs}." if inputs else "",
                f" Seed {seed}." if seed is not None else "",
                f" {hint}" if hint else "",
            ]
        )

    def fail(message: str) -> NoReturn:
        __tracebackhide__ = True
        raise Mistake(message, diagnosed(diagnosis))

    is_tensor = hasattr(expected, "detach")
    if is_tensor and not hasattr(got, "detach"):
        fail(f"{what} should be a torch tensor, but it is {_kind_of(got)}.{context()}")
    if not is_tensor and not isinstance(got, (np.ndarray, np.generic, float, int)):
        fail(f"{what} should be a numpy array, but it is {_kind_of(got)}.{context()}")
    if is_tensor and device is not None and not _device_of(got).startswith(device):
        fail(f"{what} is on {_device_of(got)}, but the inputs were on {device}.{context()}")
    want_dtype = dtype if dtype is not None else getattr(expected, "dtype", None)
    got_dtype = getattr(got, "dtype", None)
    if want_dtype is not None and got_dtype is not None and _dtype_name(got_dtype) != _dtype_name(want_dtype):
        fail(f"{what} has dtype {_dtype_name(got_dtype)}, expected {_dtype_name(want_dtype)}.{context()}")
    g, e = _to_numpy(got), _to_numpy(expected)
    if g.shape != e.shape:
        fail(f"{what} has shape {list(g.shape)}, expected {list(e.shape)}.{context()}")
    if g.size == 0:
        return
    if rtol is None or atol is None:
        d_rtol, d_atol = tolerance(want_dtype or "float64", kind)
        rtol = d_rtol if rtol is None else rtol
        atol = d_atol if atol is None else atol
    if g.dtype.kind in "biu" and e.dtype.kind in "biu":
        wrong = np.flatnonzero(g != e)
        if wrong.size:
            i = int(wrong[0])
            fail(
                f"{what} differs at {wrong.size} of {g.size} positions; first at {_index(i, g.shape)}: "
                f"expected {e.flat[i]}, got {g.flat[i]}.{context()}"
            )
        return
    g, e = g.astype(np.float64), e.astype(np.float64)
    g_nan, e_nan = np.isnan(g), np.isnan(e)
    if (g_nan != e_nan).any():
        i = int(np.flatnonzero(g_nan != e_nan)[0])
        state = "nan" if g_nan.flat[i] else f"{g.flat[i]:.6g}"
        want = "nan" if e_nan.flat[i] else f"{e.flat[i]:.6g}"
        fail(f"{what} is {state} at {_index(i, g.shape)} where {want} was expected.{context()}")
    g_inf, e_inf = np.isinf(g), np.isinf(e)
    inf_mismatch = (g_inf | e_inf) & ~(g == e)
    if inf_mismatch.any():
        i = int(np.flatnonzero(inf_mismatch)[0])
        fail(f"{what} is {g.flat[i]:.6g} at {_index(i, g.shape)} where {e.flat[i]:.6g} was expected.{context()}")
    finite = ~(g_nan | g_inf | e_inf)
    err = np.where(finite, np.abs(g - e), 0.0)
    allowed = atol + rtol * np.abs(np.where(finite, e, 0.0))
    bad = err > allowed
    if bad.any():
        i = int(np.argmax(np.where(bad, err - allowed, -np.inf)))
        scale = np.abs(np.where(finite, e, 0.0))
        rel = np.where(scale > 0, err / np.where(scale > 0, scale, 1.0), 0.0)  # where the expected value is 0: abs only
        fail(
            f"{what} differs from the expected values at {int(bad.sum())} of {g.size} positions: "
            f"max abs error {float(err.max()):.3g}, max rel error {float(rel.max()):.3g}; "
            f"worst at {_index(i, g.shape)} (expected {_distinct(e.flat[i], g.flat[i])}); "
            f"tolerance rtol={rtol:g}, atol={atol:g}.{context()}"
        )


def _distinct(expected: float, got: float) -> str:
    """``expected 0.26007, got 0.26007`` reads as no error at all: show as many digits as
    it takes (up to 17) for two different values to print differently."""
    for digits in (6, 9, 12, 17):
        e, g = f"{expected:.{digits}g}", f"{got:.{digits}g}"
        if e != g:
            break
    return f"{e}, got {g}"


def check_grads(result: GradResult, expected: dict, *, what: str = "gradient", **kwargs: Any) -> None:
    """Compare the input gradients of a `grad_call` with the oracle's, by key."""
    __tracebackhide__ = True
    for key, want in expected.items():
        got = result.input_grads.get(key)
        label = f"the {what} of input {key}"
        if got is None:
            fail(f"no gradient reached input {key}: is the computation detached from it (.detach(), .item(), numpy)?")
        check_close(got, want, what=label, kind="grad", **kwargs)


def check_param_grads(result: GradResult, expected: dict, **kwargs: Any) -> None:
    """Compare the parameter gradients of a `grad_call` with the oracle's, by parameter name
    (``kwargs`` as `check_close`'s)."""
    __tracebackhide__ = True
    for name, want in expected.items():
        got = result.param_grads.get(name)
        check(got is not None, f"no gradient reached the parameter {name}: is it used in forward, and not detached?")
        check_close(got, want, what=f"the gradient of {name}", kind="grad", **kwargs)


def check_unchanged_inputs(sub: Submission, names: list[str] | None = None) -> None:
    """Fail if the last call changed any of its inputs in place."""
    __tracebackhide__ = True
    mutated = sub.last_call.mutated
    if mutated:
        labels = [names[m] if names and isinstance(m, int) and m < len(names) else str(m) for m in mutated]
        fail(f"the call modified its input(s) {', '.join(labels)} in place; inputs must be left unchanged")


_SHARED: dict[tuple, tuple[bool, Any]] = {}


def once_per_worker(sub: Submission, key: str, compute: Callable[[Submission], Any]) -> Any:
    """``compute(sub)``, run once per worker and shared by every test that asks for ``key``
    (an expensive training the tests check from several sides). A failure is shared too:
    each of those tests reports it, even where it killed the worker and the next test runs
    on a fresh one; a worker started afresh for another reason computes it again."""
    __tracebackhide__ = True
    session = sub._session
    found = _SHARED.get((key, id(session), session.generation))
    if found is None:
        before = session.generation
        for stale in [k for k in _SHARED if k[0] == key]:
            del _SHARED[stale]  # (its remote objects are gone with their worker)
        try:
            found = (True, compute(sub))
        except Exception as exc:  # noqa: BLE001 - reported by every test that shares it
            found = (False, exc)
        for generation in {before, session.generation}:
            _SHARED[(key, id(session), generation)] = found
    ok, value = found
    if not ok:
        raise value
    return value
