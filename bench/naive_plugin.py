"""The naive baseline for bench/submit_latency.py: the same specs, in one process.

``sub`` is the reference module itself, called in-process (what a plain ``pytest`` run
against an imported solution does), with the few helper methods specs use. No isolation
at all: this is the cost floor the real grader is compared with.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys

import pytest

from grader import fixtures, worker
from grader.proxy import CallInfo, GradResult
from grader.wire import GeneratorSeed, RemoteMeta, summarise_figure

CHALLENGE = os.environ["LMPREP_BENCH_CHALLENGE"]


def _module():
    spec = importlib.util.spec_from_file_location("naive_reference", os.path.join(CHALLENGE, "reference.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REFERENCE = _module()


def _mark(value):
    """What the wire would hand the spec: remote metadata on tensors, figures summarised."""
    import torch

    figure = sys.modules.get("matplotlib.figure")
    if figure is not None and isinstance(value, figure.Figure):
        return summarise_figure(value)
    if isinstance(value, torch.Tensor):
        value._lmprep_remote = RemoteMeta(str(value.device), value.requires_grad, value.grad_fn is not None)
    elif isinstance(value, (list, tuple)):
        return type(value)(_mark(v) for v in value)
    return value


class Local:
    """The reference module behind the interface of `grader.proxy.Submission`."""

    def __init__(self, device: str):
        self.device = device
        self.last_call = CallInfo()

    def __getattr__(self, name):
        target = getattr(REFERENCE, name)
        if not callable(target):
            return target

        def call(*args, **kwargs):
            args = [self._gen(a) for a in args]
            kwargs = {k: self._gen(v) for k, v in kwargs.items()}
            return _mark(target(*args, **kwargs))

        call.__wrapped__ = target
        return call

    def _gen(self, value):
        if isinstance(value, GeneratorSeed):
            import torch

            return torch.Generator(device=value.device).manual_seed(value.seed)
        return value

    def make_fixture(self, name, *args, **kwargs):
        return fixtures.REGISTRY[name](*args, **kwargs)

    def rng_digest(self):
        import torch

        return hashlib.sha256(torch.get_rng_state().numpy().tobytes()).hexdigest()

    def generator(self, seed):
        return GeneratorSeed(seed, self.device)

    def grad_call(self, target, *args, wrt=(), grad_outputs=None, **kwargs):
        result = worker.grad_call(getattr(target, "__wrapped__", target), args, kwargs, wrt, grad_outputs)
        return GradResult(_mark(result["output"]), result["input_grads"], result["param_grads"])


def pytest_generate_tests(metafunc):
    if "device" in metafunc.fixturenames:
        metafunc.parametrize("device", ["cpu"])


@pytest.fixture
def sub(request):
    device = request.getfixturevalue("device") if "device" in request.fixturenames else "cpu"
    return Local(device)


@pytest.fixture(scope="session")
def ref():
    return REFERENCE


def pytest_configure(config):
    from grader.plugin import MARKERS

    for line in MARKERS:
        config.addinivalue_line("markers", line)
