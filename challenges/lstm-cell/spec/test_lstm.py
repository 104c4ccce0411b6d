"""Specs for LSTMCell and lstm: parameters and their initialisation, values against
torch.nn.LSTMCell and torch.nn.LSTM in float64 given the same weights (loaded from a torch
state dict), the state convention, dtypes, gradients, hygiene and errors."""

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from grader.spec import (
    RemoteException,
    check,
    check_close,
    check_param_grads,
    check_unchanged_inputs,
    describe,
    diagnosing,
    fail,
    lazy,
    public,
    randn,
)

F64 = torch.float64
NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")

# ---------------------------------------------------------------- oracle


def torch_state_dict(input_size, hidden_size, bias=True, seed=0):
    """The float64 state dict of a seeded torch.nn.LSTMCell (the judge's RNG is left alone)."""
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)  # (torch.manual_seed also queues CUDA's: 9 ms a call)
        cell = nn.LSTMCell(input_size, hidden_size, bias=bias, dtype=F64)
    return {name: value.detach().clone() for name, value in cell.state_dict().items()}


def torch_cell(sd):
    """A float64 torch.nn.LSTMCell holding the weights ``sd``."""
    hidden_size, input_size = sd["weight_ih"].shape[0] // 4, sd["weight_ih"].shape[1]
    cell = nn.LSTMCell(input_size, hidden_size, bias="bias_ih" in sd, dtype=F64)
    cell.load_state_dict(sd)
    return cell


def oracle_step(sd, x, state=None):
    """(h', c') of torch.nn.LSTMCell in float64."""
    with torch.no_grad():
        return torch_cell(sd)(x.double(), None if state is None else tuple(s.double() for s in state))


def oracle_sequence(sd, x, state=None):
    """(outputs, (h, c)) of a one-layer torch.nn.LSTM in float64 with the cell's weights."""
    hidden_size, input_size = sd["weight_ih"].shape[0] // 4, sd["weight_ih"].shape[1]
    net = nn.LSTM(input_size, hidden_size, bias="bias_ih" in sd, dtype=F64)
    net.load_state_dict({f"{name}_l0": value for name, value in sd.items()})
    with torch.no_grad():
        hx = None if state is None else tuple(s.double()[None] for s in state)  # (1, B, H) each
        out, (h, c) = net(x.double(), hx)
    return out, (h[0], c[0])


# ---------------------------------------------------------------- typical mistakes (diagnosis)

MISTAKES = {
    "order_ifog": "It matches the gates taken in the order i, f, o, g: torch stacks them i, f, g, o "
    "(the candidate g is the third block of 4H).",
    "order_igfo": "It matches the gates taken in the order i, g, f, o (TensorFlow's i, j, f, o): torch stacks "
    "them i, f, g, o (the forget gate is the second block of 4H).",
    "forget_g": "It matches c' = f * g + i * c: the forget gate scales the OLD cell state, c' = f * c + i * g.",
    "tanh_o": "It matches an output gate with tanh: the gates i, f and o use the sigmoid, only g uses tanh.",
    "sigmoid_g": "It matches a candidate g with the sigmoid: g = tanh(...), so it can be negative.",
    "h_no_tanh": "It matches h' = o * c': the hidden state is h' = o * tanh(c').",
    "no_bias_hh": "It matches leaving out bias_hh: torch adds both biases, bias_ih and bias_hh.",
    "no_bias_ih": "It matches leaving out bias_ih: torch adds both biases, bias_ih and bias_hh.",
    "c_not_carried": "It matches a cell state c that restarts from the initial state at every step: "
    "carry both h and c from each step to the next.",
    "state_ignored": "It matches starting from zeros: the initial state passed in must be used.",
    "h_not_carried": "It matches a hidden state h that restarts from the initial state at every step: "
    "carry both h and c from each step to the next.",
    "outputs_c": "It matches outputs that hold the cell state c: outputs[t] is the hidden state h after step t.",
}
SEQUENCE_ONLY = ("c_not_carried", "h_not_carried", "outputs_c")


def manual_step(sd, x, h, c, mistake=""):
    """One float64 LSTM step written out, optionally with one typical mistake."""
    gates = x @ sd["weight_ih"].T + h @ sd["weight_hh"].T  # (B, 4H)
    if "bias_ih" in sd:
        gates = (
            gates
            + (0 if mistake == "no_bias_ih" else sd["bias_ih"])
            + (0 if mistake == "no_bias_hh" else sd["bias_hh"])
        )
    order = {"order_ifog": "ifog", "order_igfo": "igfo"}.get(mistake, "ifgo")
    pre = dict(zip(order, gates.chunk(4, dim=1)))
    i, f = torch.sigmoid(pre["i"]), torch.sigmoid(pre["f"])
    g = torch.sigmoid(pre["g"]) if mistake == "sigmoid_g" else torch.tanh(pre["g"])
    o = torch.tanh(pre["o"]) if mistake == "tanh_o" else torch.sigmoid(pre["o"])
    c_next = f * g + i * c if mistake == "forget_g" else f * c + i * g
    h_next = o * c_next if mistake == "h_no_tanh" else o * torch.tanh(c_next)
    return h_next, c_next


def manual_sequence(sd, x, state, mistake=""):
    x = x.double()
    B, H = x.shape[1], sd["weight_hh"].shape[1]
    if state is None or mistake == "state_ignored":
        h0 = c0 = torch.zeros(B, H, dtype=F64)
    else:
        h0, c0 = (s.double() for s in state)
    h, c, outs = h0, c0, []
    for x_t in x:
        h, c = manual_step(
            sd, x_t, h0 if mistake == "h_not_carried" else h, c0 if mistake == "c_not_carried" else c, mistake
        )
        outs.append(c if mistake == "outputs_c" else h)
    return torch.stack(outs), (h, c)


def _near(a, b):
    return hasattr(a, "shape") and a.shape == b.shape and torch.allclose(a.double(), b, rtol=1e-3, atol=1e-4)


def diagnose(got, sd, x, state=None, sequence=False):
    """A hint naming the typical mistake the submission's result matches, or ''.

    ``got`` is (h, c) for a step, (outputs, (h, c)) for a sequence."""
    try:
        if sequence:
            got_h, (_, got_c) = got[0], got[1]
            expected = oracle_sequence(sd, x, state)
            want = (expected[0], expected[1][1])
            names = list(MISTAKES)
            run = lambda m: manual_sequence(sd, x, state, m)  # noqa: E731
            pick = lambda r: (r[0], r[1][1])  # noqa: E731
        else:
            got_h, got_c = got
            want = oracle_step(sd, x, state)
            names = [m for m in MISTAKES if m not in SEQUENCE_ONLY]
            h0, c0 = state if state is not None else (torch.zeros(x.shape[0], sd["weight_hh"].shape[1]),) * 2
            run = lambda m: manual_step(sd, x.double(), h0.double(), c0.double(), m)  # noqa: E731
            pick = lambda r: r  # noqa: E731
    except (TypeError, ValueError, IndexError):
        return ""
    want_h, want_c = want
    if not sequence and _near(got_h, want_c) and _near(got_c, want_h) and not _near(want_h, want_c):
        return "It matches the state returned as (c, h): return (h, c), the hidden state first."
    for name in names:
        if name == "state_ignored" and state is None:
            continue
        wrong_h, wrong_c = pick(run(name))
        if _near(wrong_h, want_h) and _near(wrong_c, want_c):
            continue  # this case cannot tell the mistake apart
        if _near(got_h, wrong_h) and (not hasattr(got_c, "shape") or _near(got_c, wrong_c)):
            return MISTAKES[name]
    return ""


# ---------------------------------------------------------------- calling the submission


def new_cell(sub, device, input_size, hidden_size, *, bias=True, dtype=F64, seed=0):
    """The learner's LSTMCell on ``device`` in ``dtype`` holding a seeded torch cell's weights.

    Returns the handle and the weights as the cell holds them (rounded to ``dtype``), in float64."""
    sd = torch_state_dict(input_size, hidden_size, bias, seed)
    cell = sub.LSTMCell(input_size, hidden_size) if bias else sub.LSTMCell(input_size, hidden_size, bias=False)
    cell = cell.to(device=device, dtype=dtype)
    try:
        cell.load_state_dict({name: value.to(dtype) for name, value in sd.items()})
    except RemoteException as exc:
        args = f"{input_size}, {hidden_size}" + ("" if bias else ", bias=False")
        fail(
            f"LSTMCell({args}) could not load the state dict of torch.nn.LSTMCell({args}) (keys {sorted(sd)}): "
            f"{exc.type_name}: {exc.remote_message[:300]}. The parameters must be named weight_ih [4H, I], "
            "weight_hh [4H, H], bias_ih [4H], bias_hh [4H] (biases None when bias=False)."
        )
    return cell, {name: value.to(dtype).double() for name, value in sd.items()}


def step(cell, *args, what="cell(x, state)"):
    """Call the cell and check it returned a pair (h, c)."""
    __tracebackhide__ = True
    got = cell(*args)
    check(
        isinstance(got, (tuple, list)) and len(got) == 2,
        f"{what} should return a tuple (h, c), got {type(got).__name__}.",
    )
    return tuple(got)


def run_lstm(sub, x, cell, *state, what="lstm(x, cell, state)"):
    """Call lstm and check it returned (outputs, (h, c))."""
    __tracebackhide__ = True
    got = sub.lstm(x, cell, *state)
    check(
        isinstance(got, (tuple, list)) and len(got) == 2 and isinstance(got[1], (tuple, list)) and len(got[1]) == 2,
        f"{what} should return (outputs, (h, c)), got {type(got).__name__}.",
    )
    out, (T, B) = got[0], x.shape[:2]
    shape = list(getattr(out, "shape", []))
    check(
        len(shape) == 3 and shape[:2] == [T, B],
        f"{what}: the outputs should have shape [T, B, H] = [{T}, {B}, H] for x of shape {list(x.shape)}, "
        f"got {shape if hasattr(out, 'shape') else type(out).__name__}.",
        diagnosis="The outputs are stacked batch first, [B, T, H]: stack them along dim 0, time first "
        "(torch.stack(outputs))."
        if shape[:2] == [B, T] and T != B
        else "",
    )
    return out, tuple(got[1])


def make_state(batch, hidden_size, seed, dtype=F64):
    return randn(batch, hidden_size, seed=seed, dtype=dtype), randn(batch, hidden_size, seed=seed + 1, dtype=dtype)


def check_step(got, sd, x, state, *, device, dtype=F64, kind="reduction", seed=None, what="cell(x, state)"):
    __tracebackhide__ = True
    want_h, want_c = oracle_step(sd, x, state)
    why = lazy(diagnose, got, sd, x, state)
    inputs = describe(x=x, **({"h": state[0], "c": state[1]} if state is not None else {"state": None}))
    inputs += f", hidden_size={sd['weight_hh'].shape[1]}, bias={'bias_ih' in sd}"
    for name, value, want in (("h'", got[0], want_h), ("c'", got[1], want_c)):
        check_close(
            value,
            want.to(dtype),
            what=f"{what}: {name}",
            kind=kind,
            inputs=inputs,
            seed=seed,
            diagnosis=why,
            device=device,
        )


def check_sequence(got, sd, x, state, *, device, dtype=F64, kind="reduction", seed=None, what="lstm(x, cell, state)"):
    __tracebackhide__ = True
    want_out, (want_h, want_c) = oracle_sequence(sd, x, state)
    why = lazy(diagnose, got, sd, x, state, sequence=True)
    inputs = describe(x=x, **({"h0": state[0], "c0": state[1]} if state is not None else {"state": None}))
    inputs += f", hidden_size={sd['weight_hh'].shape[1]}, bias={'bias_ih' in sd}"
    out, (h, c) = got
    for name, value, want in (("the outputs", out, want_out), ("the final h", h, want_h), ("the final c", c, want_c)):
        check_close(
            value,
            want.to(dtype),
            what=f"{what}: {name}",
            kind=kind,
            inputs=inputs,
            seed=seed,
            diagnosis=why,
            device=device,
        )


# ---------------------------------------------------------------- parameters


@public
def test_parameter_names_shapes_and_default_dtype(sub):
    """LSTMCell(5, 3) has weight_ih [12, 5], weight_hh [12, 3], bias_ih [12], bias_hh [12], float32"""
    sd = sub.LSTMCell(5, 3).state_dict()
    check(isinstance(sd, dict), f"LSTMCell(5, 3).state_dict() should be a dict, got {type(sd).__name__}")
    want = {"weight_ih": [12, 5], "weight_hh": [12, 3], "bias_ih": [12], "bias_hh": [12]}
    got = {name: list(getattr(value, "shape", [])) for name, value in sd.items()}
    check(
        sorted(got) == sorted(want),
        f"LSTMCell(5, 3) should have exactly the parameters {sorted(want)}, got {sorted(got)}. "
        "Register them as nn.Parameter attributes with these names (torch.nn.LSTMCell's).",
    )
    for name, shape in want.items():
        check(got[name] == shape, f"LSTMCell(5, 3).{name} should have shape {shape} (4H = 12 rows), got {got[name]}")
        dtype = str(sd[name].dtype).removeprefix("torch.")
        check(dtype == "float32", f"LSTMCell(5, 3).{name} should be float32 by default, got {dtype}")


def test_bias_false_has_no_bias_parameters(sub):
    """LSTMCell(4, 2, bias=False) has only weight_ih and weight_hh, and its biases are None"""
    cell = sub.LSTMCell(4, 2, bias=False)
    names = sorted(cell.state_dict())
    check(
        names == ["weight_hh", "weight_ih"],
        f"LSTMCell(4, 2, bias=False) should have only the parameters ['weight_hh', 'weight_ih'], got {names}",
        diagnosis="bias=False is ignored: register bias_ih and bias_hh as None "
        '(self.register_parameter("bias_ih", None)) when bias is False.'
        if names == sorted(NAMES)
        else "",
    )
    for name in ("bias_ih", "bias_hh"):
        try:
            value = getattr(cell, name)
        except AttributeError:
            continue  # absent is as good as None
        check(
            value is None, f"LSTMCell(4, 2, bias=False).{name} should be None (or absent), got {type(value).__name__}"
        )


def test_parameters_are_trainable(sub):
    """Every parameter reaches the module's parameters (so an optimiser and autograd see it)"""
    cell = sub.LSTMCell(3, 2)
    x = randn(2, 3, seed=1)
    with diagnosing(lazy(in_place_update, sub)):
        result = sub.grad_call(cell, x, wrt=[0], grad_outputs=(torch.ones(2, 2), torch.ones(2, 2)))
    names = sorted(result.param_grads)
    check(
        names == sorted(NAMES),
        f"the trainable parameters of LSTMCell(3, 2) should be {sorted(NAMES)}, got {names}: wrap each in nn.Parameter",
    )
    for name in NAMES:
        check(
            result.param_grads[name] is not None,
            f"no gradient reached LSTMCell.{name} after a forward and backward pass",
            diagnosis=f"{name} is never used in forward (or is detached): torch adds both biases, bias_ih and "
            "bias_hh, to the gates"
            if name.startswith("bias")
            else f"{name} is never used in forward (or is detached)",
        )


def init_mistake(name, value, input_size, hidden_size):
    """The initialisation ``value`` (a parameter) looks drawn from, where it is a known wrong one, or ''."""
    largest, rows = float(value.abs().max()), value.shape[0]
    if largest <= 1 / hidden_size * (1 + 1e-6) and largest > 0.5 / hidden_size:
        return "The parameters look drawn from U(-1/H, 1/H): torch's bound is 1/√H, U(-1/√H, 1/√H)."
    if value.dim() == 2:
        xavier = math.sqrt(6 / (rows + value.shape[1]))  # xavier_uniform_'s bound for this matrix
        if largest <= xavier * (1 + 1e-6) and largest > 0.8 * xavier:
            return (
                f"{name} looks Xavier-initialised (bound √(6 / (fan_in + fan_out)) = {xavier:.4g}): torch draws "
                "every parameter from U(-1/√H, 1/√H)."
            )
    return ""


def in_place_update(sub):
    """Why a forward and backward pass failed, where it is an in-place update of the state, or ''."""
    cell = sub.LSTMCell(3, 2)
    x, h, c = randn(2, 3, seed=1), randn(2, 2, seed=2), randn(2, 2, seed=3)
    cell(x, (h, c))
    if sub.last_call.mutated:
        return "The state is updated in place (c.mul_(f), h += ...): compute new tensors, c' = f * c + i * g."
    return ""


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_initialisation_follows_torch(sub, bias):
    """Every parameter is drawn from U(-1/√H, 1/√H): inside the bound, spread over it, not all equal"""
    input_size, hidden_size = 16, 32
    bound = 1 / math.sqrt(hidden_size)
    sd = sub.LSTMCell(input_size, hidden_size, bias=bias).state_dict()
    for name, value in sorted(sd.items()):
        value = value.double()
        where = f"LSTMCell({input_size}, {hidden_size}, bias={bias}).{name}"
        check(
            bool((value != 0).any()),
            f"{where} is all zeros; torch draws every parameter from U(-1/√H, 1/√H)",
            diagnosis="The biases start at zero: torch draws them from U(-1/√H, 1/√H) too, like the weights."
            if name.startswith("bias")
            else "",
        )
        largest = float(value.abs().max())
        check(
            largest <= bound * (1 + 1e-6),
            f"{where} has an entry of magnitude {largest:.4g} outside torch's bound 1/√H = {bound:.4g}.",
            diagnosis=init_mistake(name, value, input_size, hidden_size),
        )
        spread = float(value.std()) / (bound / math.sqrt(3))  # 1 for U(-bound, bound)
        check(
            0.6 < spread < 1.4 and largest > 0.5 * bound,
            f"{where} is not spread like U(-1/√H, 1/√H) (its standard deviation is {spread:.2f} times that of "
            "the uniform distribution): draw every entry independently from U(-1/√H, 1/√H)",
            diagnosis=init_mistake(name, value, input_size, hidden_size),
        )


# ---------------------------------------------------------------- one step


@public
def test_single_step_matches_torch(sub, device):
    """One step from a given state equals torch.nn.LSTMCell's (h', c') with the same weights, float64"""
    cell, sd = new_cell(sub, device, 5, 4, seed=1)
    x, state = randn(3, 5, seed=2, dtype=F64), make_state(3, 4, seed=3)
    check_step(step(cell, x, state), sd, x, state, device=device, seed=1)


@pytest.mark.parametrize(
    "input_size, hidden_size, batch", [(1, 1, 1), (3, 7, 2), (8, 2, 5), (6, 3, 1)], ids=lambda v: str(v)
)
def test_single_step_sizes(sub, device, input_size, hidden_size, batch):
    """Other sizes, batch size 1 included; inputs scaled by 3 so that some gates saturate"""
    cell, sd = new_cell(sub, device, input_size, hidden_size, seed=10 + input_size)
    x = randn(batch, input_size, seed=11, dtype=F64, scale=3.0)
    state = make_state(batch, hidden_size, seed=12)
    check_step(step(cell, x, state), sd, x, state, device=device, seed=10 + input_size)


def zero_state_mistake(cell, x, sd):
    """Why cell(x) fails where cell(x, zeros like x) works: the zero state's dtype, or ''."""
    zeros = torch.zeros(x.shape[0], sd["weight_hh"].shape[1], dtype=x.dtype)
    try:
        h, _ = cell(x, (zeros, zeros))
        works = torch.allclose(h.double(), oracle_step(sd, x, None)[0], rtol=1e-6, atol=1e-6)
    except Exception:  # noqa: BLE001 - it fails this way too
        return ""
    if works:
        return (
            "cell(x) fails where cell(x, (zeros, zeros)) works: create the zero state like x, "
            "x.new_zeros(B, H) (torch.zeros(B, H) is float32 whatever x's dtype)."
        )
    return ""


def test_state_none_is_zeros(sub, device):
    """cell(x) and cell(x, None) start from h = c = 0, in x's dtype and on x's device"""
    cell, sd = new_cell(sub, device, 4, 3, seed=20)
    x = randn(2, 4, seed=21, dtype=F64)
    with diagnosing(lazy(zero_state_mistake, cell, x, sd)):
        check_step(step(cell, x, what="cell(x)"), sd, x, None, device=device, what="cell(x)")
    check_step(step(cell, x, None, what="cell(x, None)"), sd, x, None, device=device, what="cell(x, None)")
    zeros = (torch.zeros(2, 3, dtype=F64), torch.zeros(2, 3, dtype=F64))
    check_step(step(cell, x, zeros), sd, x, zeros, device=device, what="cell(x, (zeros, zeros))")


def test_bias_false_values(sub, device):
    """A cell without biases matches torch.nn.LSTMCell(bias=False)"""
    cell, sd = new_cell(sub, device, 4, 3, bias=False, seed=30)
    x, state = randn(3, 4, seed=31, dtype=F64), make_state(3, 3, seed=32)
    check_step(step(cell, x, state), sd, x, state, device=device, seed=30)


def test_float32_cell(sub, device):
    """A cell left in its default float32 takes float32 inputs and returns float32 (h', c')"""
    sd64 = torch_state_dict(5, 4, seed=40)
    cell = sub.LSTMCell(5, 4).to(device)
    cell.load_state_dict({name: value.float() for name, value in sd64.items()})
    sd = {name: value.float().double() for name, value in sd64.items()}
    x, state = randn(3, 5, seed=41), make_state(3, 4, seed=42, dtype=torch.float32)
    check_step(step(cell, x, state), sd, x, state, device=device, dtype=torch.float32, seed=40)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_cell(sub, device, dtype):
    """A cell converted with .to(dtype) takes and returns float16/bfloat16 tensors"""
    cell, sd = new_cell(sub, device, 6, 4, dtype=dtype, seed=50)
    x, state = randn(3, 6, seed=51, dtype=dtype), make_state(3, 4, seed=52, dtype=dtype)
    check_step(step(cell, x, state), sd, x, state, device=device, dtype=dtype, seed=50)


def test_step_leaves_inputs_unchanged(sub, device):
    """cell(x, (h, c)) does not modify x, h or c in place"""
    cell, _ = new_cell(sub, device, 3, 2, seed=60)
    x, state = randn(2, 3, seed=61, dtype=F64), make_state(2, 2, seed=62)
    step(cell, x, state)
    with diagnosing("The state is updated in place (c.mul_(f), h += ...): compute new tensors, c' = f * c + i * g."):
        check_unchanged_inputs(sub, ["x", "state"])


def test_wrong_input_size_raises_value_error(sub):
    """x whose feature size is not input_size -> ValueError"""
    cell = sub.LSTMCell(4, 3)
    for bad in (randn(2, 5, seed=70), randn(2, 3, seed=71)):
        call = f"LSTMCell(4, 3)(x of shape {list(bad.shape)})"
        try:
            cell(bad)
        except ValueError:
            continue
        except RemoteException as exc:
            fail(
                f"expected ValueError from {call}, but it raised {exc.type_name}: {exc.remote_message[:200]}",
                diagnosis="x's feature size is not checked: raise ValueError when x.shape[1] != input_size "
                "(the matrix product's error is a RuntimeError).",
            )
        fail(
            f"expected ValueError from {call} (x must be [B, input_size]), but it returned normally",
            diagnosis="x's feature size is not checked: raise ValueError when x.shape[1] != input_size.",
        )


# ---------------------------------------------------------------- gradients of one step


def oracle_step_grads(sd, x, state, g_h, g_c):
    """d<g_h, h'> + <g_c, c'> w.r.t. x and every parameter, from torch.nn.LSTMCell in float64."""
    cell = torch_cell(sd)
    leaf = x.double().clone().requires_grad_(True)
    h, c = cell(leaf, tuple(s.double() for s in state))
    torch.autograd.backward([h, c], [g_h.double(), g_c.double()])
    return leaf.grad, {name: p.grad for name, p in cell.named_parameters()}


@pytest.mark.parametrize("bias", [True, False])
def test_step_gradients_match_torch(sub, device, bias):
    """Gradients of <g_h, h'> + <g_c, c'> w.r.t. x and every parameter, in float64"""
    cell, sd = new_cell(sub, device, 5, 3, bias=bias, seed=80)
    x, state = randn(4, 5, seed=81, dtype=F64), make_state(4, 3, seed=82)
    g_h, g_c = randn(4, 3, seed=84, dtype=F64), randn(4, 3, seed=85, dtype=F64)
    result = sub.grad_call(cell, x, state, wrt=[0], grad_outputs=(g_h, g_c))
    want_x, want_params = oracle_step_grads(sd, x, state, g_h, g_c)
    inputs = describe(x=x, h=state[0], c=state[1]) + f", bias={bias}, upstream gradients on both h' and c'"
    got_x = result.input_grads.get(0)
    check(got_x is not None, "no gradient reached x: is the computation detached from it (.detach(), .item())?")
    check_close(got_x, want_x, what="the gradient of x", kind="grad", inputs=inputs, device=device, seed=80)
    check_param_grads(result, want_params, inputs=inputs, device=device, seed=80)


# ---------------------------------------------------------------- sequences


@public
def test_sequence_matches_torch_lstm(sub, device):
    """lstm over 6 steps from a zero state equals torch.nn.LSTM: outputs [T, B, H] and the final (h, c)"""
    cell, sd = new_cell(sub, device, 3, 4, seed=100)
    x = randn(6, 2, 3, seed=101, dtype=F64)
    got = run_lstm(sub, x, cell, what="lstm(x, cell)")
    check_sequence(got, sd, x, None, device=device, seed=100, what="lstm(x, cell)")


def test_sequence_from_initial_state(sub, device):
    """lstm(x, cell, (h0, c0)) starts from the given state"""
    cell, sd = new_cell(sub, device, 3, 4, seed=110)
    x, state = randn(5, 3, 3, seed=111, dtype=F64), make_state(3, 4, seed=112, dtype=F64)
    check_sequence(run_lstm(sub, x, cell, state), sd, x, state, device=device, seed=110)


@pytest.mark.parametrize(
    "steps, batch, input_size, hidden_size, bias",
    [(1, 1, 2, 3, True), (1, 4, 3, 2, True), (8, 1, 4, 5, True), (4, 2, 3, 3, False)],
    ids=["T1_B1", "T1", "B1", "no_bias"],
)
def test_sequence_shapes(sub, device, steps, batch, input_size, hidden_size, bias):
    """T = 1, batch size 1 and bias=False, from a given state"""
    cell, sd = new_cell(sub, device, input_size, hidden_size, bias=bias, seed=120 + steps)
    x = randn(steps, batch, input_size, seed=121, dtype=F64, scale=2.0)
    state = make_state(batch, hidden_size, seed=122)
    check_sequence(run_lstm(sub, x, cell, state), sd, x, state, device=device, seed=120 + steps)


def test_last_output_is_final_h(sub, device):
    """outputs[t] is the hidden state after step t, so outputs[-1] equals the returned h"""
    cell, _ = new_cell(sub, device, 3, 2, seed=130)
    out, (h, _) = run_lstm(sub, randn(4, 2, 3, seed=131, dtype=F64), cell)
    check(hasattr(out, "shape") and list(out.shape) == [4, 2, 2], "outputs should have shape [T, B, H] = [4, 2, 2]")
    check_close(h, out[-1], what="the final h compared with outputs[-1]", hint="outputs[t] is h after step t.")


def test_state_carried_across_calls(sub, device):
    """Splitting a sequence in two and passing the first call's state to the second gives the same outputs"""
    cell, sd = new_cell(sub, device, 3, 4, seed=140)
    x = randn(7, 2, 3, seed=141, dtype=F64)
    first_out, first_state = run_lstm(sub, x[:3], cell, what="lstm(x[:3], cell)")
    second_out, second_state = run_lstm(sub, x[3:], cell, first_state, what="lstm(x[3:], cell, state)")
    check(hasattr(first_out, "shape") and hasattr(second_out, "shape"), "lstm should return tensors of outputs")
    got = (torch.cat([first_out, second_out]), second_state)
    check_sequence(got, sd, x, None, device=device, seed=140, what="lstm(x[:3], cell) then lstm(x[3:], cell, state)")


def test_lstm_equals_stepping_the_cell(sub, device):
    """lstm(x, cell) gives the same outputs as calling cell(x[t], state) step by step"""
    cell, _ = new_cell(sub, device, 2, 3, seed=150)
    x = randn(4, 2, 2, seed=151, dtype=F64)
    out, (h, c) = run_lstm(sub, x, cell)
    state = None
    for t in range(4):
        state = step(cell, x[t], state, what=f"cell(x[{t}], state)")
        check_close(
            state[0],
            out[t] if hasattr(out, "shape") else out,
            what=f"h after step {t} of the cell compared with lstm's outputs[{t}]",
            hint="lstm should apply the cell once per time step, carrying (h, c).",
        )
    check_close(state[1], c, what="c after the last step of the cell compared with lstm's final c")


def test_float32_sequence(sub, device):
    """A float32 cell over a float32 sequence gives float32 results within float32 tolerance"""
    sd64 = torch_state_dict(4, 5, seed=160)
    cell = sub.LSTMCell(4, 5).to(device)
    cell.load_state_dict({name: value.float() for name, value in sd64.items()})
    sd = {name: value.float().double() for name, value in sd64.items()}
    x, state = randn(6, 3, 4, seed=161), make_state(3, 5, seed=162, dtype=torch.float32)
    check_sequence(run_lstm(sub, x, cell, state), sd, x, state, device=device, dtype=torch.float32, seed=160)


def test_sequence_leaves_inputs_unchanged(sub, device):
    """lstm(x, cell, (h0, c0)) does not modify x, h0 or c0 in place"""
    cell, _ = new_cell(sub, device, 3, 2, seed=170)
    x, state = randn(4, 2, 3, seed=171, dtype=F64), make_state(2, 2, seed=172)
    run_lstm(sub, x, cell, state)
    check_unchanged_inputs(sub, ["x", "cell", "state"])


def test_lstm_rejects_unbatched_input(sub):
    """lstm needs x of shape [T, B, I]: a 2-D x -> ValueError"""
    cell = sub.LSTMCell(3, 2)
    try:
        sub.lstm(randn(4, 3, seed=180), cell)
    except ValueError:
        return
    except RemoteException as exc:
        fail(
            f"expected ValueError from lstm(x of shape [4, 3], cell), but it raised {exc.type_name}",
            diagnosis="lstm does not check that x is 3-D: raise ValueError unless x.dim() == 3.",
        )
    fail(
        "expected ValueError from lstm(x of shape [4, 3], cell) (x must be [T, B, I]), but it returned normally",
        diagnosis="lstm does not check that x is 3-D: raise ValueError unless x.dim() == 3.",
    )


@settings(
    derandomize=True,
    max_examples=20,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    report_multiple_bugs=False,
)
@given(
    steps=st.integers(1, 6),
    batch=st.integers(1, 4),
    input_size=st.integers(1, 5),
    hidden_size=st.integers(1, 5),
    bias=st.booleans(),
    with_state=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_random_sequences(sub, steps, batch, input_size, hidden_size, bias, with_state, seed):
    """Random sizes, with and without biases and initial state, against torch.nn.LSTM"""
    cell, sd = new_cell(sub, "cpu", input_size, hidden_size, bias=bias, seed=seed)
    x = randn(steps, batch, input_size, seed=seed + 1, dtype=F64, scale=2.0)
    state = make_state(batch, hidden_size, seed=seed + 2) if with_state else None
    got = run_lstm(sub, x, cell, *([state] if with_state else []))
    check_sequence(got, sd, x, state, device="cpu", seed=seed)


# ---------------------------------------------------------------- gradients through time


def oracle_sequence_grads(sd, x, state, g_out, g_h, g_c):
    """d<g_out, outputs> + <g_h, h_T> + <g_c, c_T> w.r.t. x, from torch.nn.LSTM in float64."""
    hidden_size, input_size = sd["weight_ih"].shape[0] // 4, sd["weight_ih"].shape[1]
    net = nn.LSTM(input_size, hidden_size, bias="bias_ih" in sd, dtype=F64)
    net.load_state_dict({f"{name}_l0": value for name, value in sd.items()})
    leaf = x.double().clone().requires_grad_(True)
    out, (h, c) = net(leaf, tuple(s.double()[None] for s in state))
    torch.autograd.backward([out, h[0], c[0]], [g_out, g_h, g_c])
    return leaf.grad


def detached_state(got, sd, x, state, g_out, g_h, g_c):
    """Whether the gradient ``got`` of x is the one a state detached between steps gives."""
    leaf = x.double().clone().requires_grad_(True)
    h, c = (s.double() for s in state)
    outs = []
    for x_t in leaf:
        h, c = manual_step(sd, x_t, h.detach(), c.detach())
        outs.append(h)
    out = torch.stack(outs)  # (T, B, H)
    through_outputs = torch.autograd.grad(out, leaf, g_out, retain_graph=True)[0]  # the final state detached too
    through_all = torch.autograd.grad([out, h, c], leaf, [g_out, g_h, g_c])[0]
    if _near(got, through_outputs) or _near(got, through_all):
        return (
            "The gradients match a state detached between time steps: do not detach h or c, so the gradient "
            "flows back through time."
        )
    return ""


@pytest.mark.parametrize("upstream", ["all", "final_state_only", "final_c_only"])
def test_sequence_gradients_match_torch(sub, device, upstream):
    """Gradients w.r.t. every x[t] flow back through h and c across time steps, in float64"""
    steps, batch, n_in, n_hid = 5, 2, 3, 4
    cell, sd = new_cell(sub, device, n_in, n_hid, seed=190)
    x, state = randn(steps, batch, n_in, seed=191, dtype=F64), make_state(batch, n_hid, seed=192)
    g_out = randn(steps, batch, n_hid, seed=194, dtype=F64) * (upstream == "all")
    g_h = randn(batch, n_hid, seed=195, dtype=F64) * (upstream != "final_c_only")
    g_c = randn(batch, n_hid, seed=196, dtype=F64)
    result = sub.grad_call(sub.lstm, x, cell, state, wrt=[0], grad_outputs=(g_out, (g_h, g_c)))
    got = result.input_grads.get(0)
    check(got is not None, "no gradient reached x: is the computation detached from it (.detach(), .item())?")
    want = oracle_sequence_grads(sd, x, state, g_out, g_h, g_c)
    label = {
        "all": "on every output and the final (h, c)",
        "final_state_only": "on the final (h, c) only",
        "final_c_only": "on the final c only",
    }[upstream]
    check_close(
        got,
        want,
        what="the gradient of x",
        kind="grad",
        inputs=describe(x=x, h0=state[0], c0=state[1]) + f", upstream gradient {label}",
        diagnosis=lazy(detached_state, got, sd, x, state, g_out, g_h, g_c),
        device=device,
        seed=190,
    )
