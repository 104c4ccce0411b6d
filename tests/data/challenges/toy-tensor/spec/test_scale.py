import pytest
import torch

from grader.spec import check, check_close, check_grads, check_unchanged_inputs, describe, public, randn, remote_meta


@public
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_values(sub, ref, device, dtype):
    x = randn(3, 4, seed=1, dtype=dtype)
    got = sub.scale(x, 2.5)
    check_close(got, ref.scale(x.double(), 2.5).to(dtype), device=device, inputs=describe(x=x), seed=1)


def test_inputs_untouched(sub):
    sub.scale(randn(5, seed=2), 3.0)
    check_unchanged_inputs(sub, ["x", "factor"])


def test_no_graph(sub):
    got = sub.scale(randn(5, seed=2), 3.0)
    check(not remote_meta(got).has_grad_fn, "no autograd graph should be built")


def test_gradient(sub, device):
    x = randn(4, seed=3, dtype=torch.float64)
    result = sub.grad_call(sub.scale, x, 2.0, wrt=[0], grad_outputs=torch.ones(4, dtype=torch.float64))
    check_grads(result, {0: torch.full((4,), 2.0, dtype=torch.float64)}, device=device)


def test_module_and_params(sub, device):
    m = sub.Scaler(3.0).to(device)
    x = randn(2, 3, seed=4)
    check_close(m(x), x * 3, device=device)
    result = sub.grad_call(m, x, wrt=[0], grad_outputs=torch.ones(2, 3))
    check_close(result.param_grads["factor"], x.sum(), kind="grad", what="grad of factor")
    check_close(m.factor, torch.tensor(3.0), what="factor")


def test_fixture_model(sub):
    lm = sub.make_fixture("ToyLM", 7, seed=0)
    ids = torch.tensor([[1, 2, 3]])
    logits = sub.scale(lm(ids), 1.0)
    from grader.fixtures import ToyLM

    check_close(logits, ToyLM(7, seed=0)(ids).detach(), kind="model")
    check(lm.calls == 1, "one call")


def test_errors(sub):
    with pytest.raises(ValueError):
        sub.scale(randn(2, seed=0), float("nan"))


def test_nested_gradients_and_module_argument(sub):
    """gradients reach tensors inside a tuple and the parameters of a module argument"""
    m = sub.Scaler(2.0)
    a, b = randn(3, seed=5, dtype=torch.float64), randn(3, seed=6, dtype=torch.float64)
    ones = torch.ones(3, dtype=torch.float64)
    result = sub.grad_call(sub.apply, m, (a, b), wrt=[(1, 0), (1, 1)], grad_outputs=ones)
    check_grads(result, {(1, 0): torch.full((3,), 2.0, dtype=torch.float64), (1, 1): ones})
    check_close(result.param_grads["factor"], a.sum().float(), kind="grad", what="grad of factor")
