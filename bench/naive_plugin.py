"""The naive baseline for bench/submit_latency.py: the same specs, in one process.

``sub`` is the reference module itself, called in-process (what a plain ``pytest`` run
against an imported solution does), with the few helper methods specs use. No isolation
at all: this is the cost floor the real grader is compared with.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os

import pytest

from grader import fixtures
from grader.proxy import CallInfo, GradResult
from grader.wire import GeneratorSeed, RemoteMeta

CHALLENGE = os.environ["LMPREP_BENCH_CHALLENGE"]


def _module():
    spec = importlib.util.spec_from_file_location("naive_reference", os.path.join(CHALLENGE, "reference.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


REFERENCE = _module()


def _mark(value):
    import torch

    if isinstance(value, torch.Tensor):
        value._lmprep_remote = RemoteMeta(str(value.device), value.requires_grad, value.grad_fn is not None)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _mark(v)
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
        import torch

        fn = getattr(target, "__wrapped__", target)
        args = list(args)
        for i in wrt:
            args[i] = args[i].detach().clone().requires_grad_(True)
        params = dict(fn.named_parameters()) if isinstance(fn, torch.nn.Module) else {}
        for p in params.values():
            p.grad = None
        out = fn(*args, **kwargs)
        outs = [o for o in (out if isinstance(out, (tuple, list)) else [out]) if isinstance(o, torch.Tensor)]
        grads = grad_outputs if isinstance(grad_outputs, (tuple, list)) else [grad_outputs]
        pairs = [(o, g) for o, g in zip(outs, grads) if g is not None and o.requires_grad]
        torch.autograd.backward([o for o, _ in pairs], [g for _, g in pairs])
        return GradResult(_mark(out), {i: args[i].grad for i in wrt}, {n: p.grad for n, p in params.items()})


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
