"""Specs for GRUCell and gru: parameters and their initialisation, values against
torch.nn.GRUCell and torch.nn.GRU in float64 given the same weights (loaded from a torch
state dict), torch's candidate formula and gate order, dtypes, gradients, hygiene and
errors."""

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
    expect_raises,
    fail,
    lazy,
    public,
    randn,
)

F64 = torch.float64
NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")

# ---------------------------------------------------------------- oracle


def torch_state_dict(input_size, hidden_size, bias=True, seed=0):
    """The float64 state dict of a seeded torch.nn.GRUCell (the judge's RNG is left alone)."""
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(seed)  # (torch.manual_seed also queues CUDA's: 9 ms a call)
        cell = nn.GRUCell(input_size, hidden_size, bias=bias, dtype=F64)
    return {name: value.detach().clone() for name, value in cell.state_dict().items()}


def sizes(sd):
    """(input_size, hidden_size) of the weights ``sd``."""
    return sd["weight_ih"].shape[1], sd["weight_hh"].shape[1]


def torch_cell(sd):
    """A float64 torch.nn.GRUCell holding the weights ``sd``."""
    cell = nn.GRUCell(*sizes(sd), bias="bias_ih" in sd, dtype=F64)
    cell.load_state_dict(sd)
    return cell


def torch_gru(sd):
    """A float64 one-layer torch.nn.GRU holding the weights ``sd``."""
    net = nn.GRU(*sizes(sd), bias="bias_ih" in sd, dtype=F64)
    net.load_state_dict({f"{name}_l0": value for name, value in sd.items()})
    return net


def oracle_step(sd, x, h=None):
    """h' of torch.nn.GRUCell in float64."""
    with torch.no_grad():
        return torch_cell(sd)(x.double(), None if h is None else h.double())


def oracle_sequence(sd, x, h=None):
    """(outputs, h_last) of a one-layer torch.nn.GRU in float64 with the cell's weights."""
    with torch.no_grad():
        out, h_n = torch_gru(sd)(x.double(), None if h is None else h.double()[None])  # h0 (1, B, H)
    return out, h_n[0]


# ---------------------------------------------------------------- typical mistakes (diagnosis)

MISTAKES = {
    "cho": "It matches Cho's candidate, n = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn), with the reset gate applied "
    "before the matrix product: torch resets after it, n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)).",
    "b_hn_outside": "It matches b_hn outside the reset product, n = tanh(W_in x + b_in + r ⊙ (W_hn h) + b_hn): "
    "torch scales the bias too, r ⊙ (W_hn h + b_hn).",
    "no_reset": "It matches a candidate without the reset gate, n = tanh(W_in x + b_in + W_hn h + b_hn): "
    "r must scale (W_hn h + b_hn).",
    "swap_rz": "It matches the reset and update gates swapped (the 3H blocks taken in the order z, r, n): "
    "torch stacks them r, z, n, so rows 0:H are the reset gate r and rows H:2H the update gate z.",
    "reset_whole": "It matches the reset gate applied to the whole candidate pre-activation, "
    "n = tanh(r ⊙ (W_in x + b_in + W_hn h + b_hn)): r scales only the hidden part, "
    "n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)).",
    "flip": "It matches the interpolation flipped, h' = z ⊙ n + (1 − z) ⊙ h: in torch z keeps the old state, "
    "h' = (1 − z) ⊙ n + z ⊙ h.",
    "sigmoid_n": "It matches a candidate n with the sigmoid: n = tanh(...), so it can be negative.",
    "tanh_gates": "It matches gates r and z with tanh: both gates use the sigmoid, only n uses tanh.",
    "no_bias_hh": "It matches leaving out bias_hh: torch adds both biases, bias_ih and bias_hh.",
    "no_bias_ih": "It matches leaving out bias_ih: torch adds both biases, bias_ih and bias_hh.",
    "state_ignored": "It matches starting from zeros: the initial state h passed in must be used.",
    "h_not_carried": "It matches a hidden state that restarts from the initial state at every step: "
    "feed the h returned by each step into the next.",
    "h_last_first": "It matches h_last taken from the first step: h_last is the state after the LAST step, "
    "equal to outputs[-1].",
}
for _order in ("rnz", "znr", "nrz", "nzr"):  # the other orders of the blocks (z, r, n is swap_rz)
    MISTAKES[f"order_{_order}"] = (
        f"It matches the 3H blocks taken in the order {', '.join(_order)}: torch stacks them r, z, n "
        "(rows 0:H reset gate, H:2H update gate, 2H:3H candidate)."
    )
SEQUENCE_ONLY = ("state_ignored", "h_not_carried", "h_last_first")


def manual_step(sd, x, h, mistake=""):
    """One float64 GRU step written out, optionally with one typical mistake."""
    H = sizes(sd)[1]
    zeros = torch.zeros(3 * H, dtype=F64)
    b_ih = zeros if mistake == "no_bias_ih" else sd.get("bias_ih", zeros)
    b_hh = zeros if mistake == "no_bias_hh" else sd.get("bias_hh", zeros)
    order = "rzn"  # the blocks of 3H rows as torch stacks them
    if mistake == "swap_rz":
        order = "zrn"
    elif mistake.startswith("order_"):
        order = mistake.removeprefix("order_")
    W_i, W_h = dict(zip(order, sd["weight_ih"].chunk(3))), dict(zip(order, sd["weight_hh"].chunk(3)))
    b_i, b_h = dict(zip(order, b_ih.chunk(3))), dict(zip(order, b_hh.chunk(3)))
    gate = torch.tanh if mistake == "tanh_gates" else torch.sigmoid
    r = gate(x @ W_i["r"].T + b_i["r"] + h @ W_h["r"].T + b_h["r"])  # (B, H)
    z = gate(x @ W_i["z"].T + b_i["z"] + h @ W_h["z"].T + b_h["z"])  # (B, H)
    from_x = x @ W_i["n"].T + b_i["n"]  # (B, H)
    if mistake == "cho":
        pre = from_x + (r * h) @ W_h["n"].T + b_h["n"]
    elif mistake == "b_hn_outside":
        pre = from_x + r * (h @ W_h["n"].T) + b_h["n"]
    elif mistake == "reset_whole":
        pre = r * (from_x + h @ W_h["n"].T + b_h["n"])
    elif mistake == "no_reset":
        pre = from_x + h @ W_h["n"].T + b_h["n"]
    else:
        pre = from_x + r * (h @ W_h["n"].T + b_h["n"])
    n = torch.sigmoid(pre) if mistake == "sigmoid_n" else torch.tanh(pre)
    return z * n + (1 - z) * h if mistake == "flip" else (1 - z) * n + z * h


def manual_sequence(sd, x, h0, mistake=""):
    """(outputs, h_last) of the GRU written out in float64, optionally with one typical mistake."""
    x = x.double()
    B, H = x.shape[1], sizes(sd)[1]
    h0 = torch.zeros(B, H, dtype=F64) if h0 is None or mistake == "state_ignored" else h0.double()
    h, outs = h0, []
    for x_t in x:
        h = manual_step(sd, x_t, h0 if mistake == "h_not_carried" else h, mistake)
        outs.append(h)
    return torch.stack(outs), (outs[0] if mistake == "h_last_first" else h)


def _near(a, b):
    return (
        hasattr(a, "shape") and tuple(a.shape) == tuple(b.shape) and torch.allclose(a.double(), b, rtol=1e-3, atol=1e-4)
    )


def diagnose(got, sd, x, h=None, sequence=False):
    """A hint naming the typical mistake the submission's result matches, or ''.

    ``got`` is h' for a step, (outputs, h_last) for a sequence. Where several mistakes give
    the same result on this case (Cho's candidate and b_hn outside the reset product from
    h = 0), none is named: another case tells them apart."""
    try:
        if sequence:
            want = oracle_sequence(sd, x, h)
            names = list(MISTAKES)
            run = lambda m: manual_sequence(sd, x, h, m)  # noqa: E731
            matches = lambda wrong: _near(got[0], wrong[0]) and _near(got[1], wrong[1])  # noqa: E731
            same = lambda a, b: _near(a[0], b[0]) and _near(a[1], b[1])  # noqa: E731
        else:
            want = oracle_step(sd, x, h)
            names = [m for m in MISTAKES if m not in SEQUENCE_ONLY]
            h0 = h.double() if h is not None else torch.zeros(x.shape[0], sizes(sd)[1], dtype=F64)
            run = lambda m: manual_step(sd, x.double(), h0, m)  # noqa: E731
            matches = lambda wrong: _near(got, wrong)  # noqa: E731
            same = _near
    except (TypeError, ValueError, IndexError, RuntimeError):
        return ""
    found = []
    for name in names:
        if name == "state_ignored" and h is None:
            continue
        wrong = run(name)
        if same(wrong, want):
            continue  # this case cannot tell the mistake apart
        if matches(wrong):
            found.append((name, wrong))
    if len(found) == 1:
        return MISTAKES[found[0][0]]
    return ""


# ---------------------------------------------------------------- calling the submission


def new_cell(sub, device, input_size, hidden_size, *, bias=True, dtype=F64, seed=0):
    """The learner's GRUCell on ``device`` in ``dtype`` holding a seeded torch cell's weights.

    Returns the handle and the weights as the cell holds them (rounded to ``dtype``), in float64."""
    sd = torch_state_dict(input_size, hidden_size, bias, seed)
    cell = sub.GRUCell(input_size, hidden_size) if bias else sub.GRUCell(input_size, hidden_size, bias=False)
    cell = cell.to(device=device, dtype=dtype)
    try:
        cell.load_state_dict({name: value.to(dtype) for name, value in sd.items()})
    except RemoteException as exc:
        args = f"{input_size}, {hidden_size}" + ("" if bias else ", bias=False")
        fail(
            f"GRUCell({args}) could not load the state dict of torch.nn.GRUCell({args}) (keys {sorted(sd)}): "
            f"{exc.type_name}: {exc.remote_message[:300]}. The parameters must be named weight_ih [3H, I], "
            "weight_hh [3H, H], bias_ih [3H], bias_hh [3H] (no bias parameters when bias=False).",
            diagnosis=BIAS_FALSE_IGNORED if not bias and "Missing key" in exc.remote_message else "",
        )
    return cell, {name: value.to(dtype).double() for name, value in sd.items()}


def run_gru(sub, x, cell, *h, what="gru(x, cell, h)"):
    """Call gru and check it returned (outputs [T, B, H], h_last)."""
    __tracebackhide__ = True
    got = sub.gru(x, cell, *h)
    check(
        isinstance(got, (tuple, list)) and len(got) == 2,
        f"{what} should return a pair (outputs, h_last), got {type(got).__name__}.",
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
        else "The outputs include the initial state: outputs[t] is the state after reading x[t], T entries."
        if shape[:2] == [T + 1, B]
        else "",
    )
    return out, got[1]


def check_step(got, sd, x, h, *, device, dtype=F64, kind="reduction", seed=None, what="cell(x, h)"):
    __tracebackhide__ = True
    inputs = describe(x=x, **({"h": h} if h is not None else {"h": None}))
    inputs += f", hidden_size={sizes(sd)[1]}, bias={'bias_ih' in sd}"
    check_close(
        got,
        oracle_step(sd, x, h).to(dtype),
        what=f"{what}: h'",
        kind=kind,
        inputs=inputs,
        seed=seed,
        diagnosis=lazy(diagnose, got, sd, x, h),
        device=device,
    )


def check_sequence(got, sd, x, h, *, device, dtype=F64, kind="reduction", seed=None, what="gru(x, cell, h)"):
    __tracebackhide__ = True
    want_out, want_h = oracle_sequence(sd, x, h)
    why = lazy(diagnose, got, sd, x, h, sequence=True)
    inputs = describe(x=x, **({"h0": h} if h is not None else {"h": None}))
    inputs += f", hidden_size={sizes(sd)[1]}, bias={'bias_ih' in sd}"
    out, h_last = got
    for name, value, want in (("the outputs tensor", out, want_out), ("h_last", h_last, want_h)):
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

BIAS_FALSE_IGNORED = (
    'bias=False is ignored: create no bias parameters then (self.register_parameter("bias_ih", None), '
    "as torch does), and add no bias."
)


@public
def test_parameter_names_shapes_and_default_dtype(sub):
    """GRUCell(5, 3) has weight_ih [9, 5], weight_hh [9, 3], bias_ih [9], bias_hh [9], float32"""
    sd = sub.GRUCell(5, 3).state_dict()
    check(isinstance(sd, dict), f"GRUCell(5, 3).state_dict() should be a dict, got {type(sd).__name__}")
    want = {"weight_ih": [9, 5], "weight_hh": [9, 3], "bias_ih": [9], "bias_hh": [9]}
    got = {name: list(getattr(value, "shape", [])) for name, value in sd.items()}
    check(
        sorted(got) == sorted(want),
        f"GRUCell(5, 3) should have exactly the parameters {sorted(want)}, got {sorted(got)}. "
        "Register them as nn.Parameter attributes with these names (torch.nn.GRUCell's).",
    )
    for name, shape in want.items():
        check(got[name] == shape, f"GRUCell(5, 3).{name} should have shape {shape} (3H = 9 rows), got {got[name]}")
        dtype = str(sd[name].dtype).removeprefix("torch.")
        check(dtype == "float32", f"GRUCell(5, 3).{name} should be float32 by default, got {dtype}")


def test_bias_false_has_no_bias_parameters(sub):
    """GRUCell(4, 2, bias=False) has only weight_ih and weight_hh, and its biases are None"""
    cell = sub.GRUCell(4, 2, bias=False)
    names = sorted(cell.state_dict())
    check(
        names == ["weight_hh", "weight_ih"],
        f"GRUCell(4, 2, bias=False) should have only the parameters ['weight_hh', 'weight_ih'], got {names}",
        diagnosis=BIAS_FALSE_IGNORED if {"bias_ih", "bias_hh"} & set(names) else "",
    )
    for name in ("bias_ih", "bias_hh"):
        try:
            value = getattr(cell, name)
        except AttributeError:
            continue  # absent is as good as None
        check(value is None, f"GRUCell(4, 2, bias=False).{name} should be None (or absent), got {type(value).__name__}")


def in_place_update(sub):
    """Why a forward and backward pass failed, where it is an in-place update of the state, or ''."""
    cell = sub.GRUCell(3, 2)
    cell(randn(2, 3, seed=1), randn(2, 2, seed=2))
    if sub.last_call.mutated:
        return "The state h is updated in place (h.mul_(z), h += ...): compute a new tensor, h' = (1 - z) * n + z * h."
    return ""


def test_parameters_are_trainable(sub):
    """Every parameter reaches the module's parameters (so an optimiser and autograd see it)"""
    cell = sub.GRUCell(3, 2)
    x, h = randn(2, 3, seed=1), randn(2, 2, seed=2)
    with diagnosing(lazy(in_place_update, sub)):
        result = sub.grad_call(cell, x, h, wrt=[0], grad_outputs=torch.ones(2, 2))
    names = sorted(result.param_grads)
    check(
        names == sorted(NAMES),
        f"the trainable parameters of GRUCell(3, 2) should be {sorted(NAMES)}, got {names}: wrap each in nn.Parameter",
    )
    for name in NAMES:
        check(
            result.param_grads[name] is not None,
            f"no gradient reached GRUCell.{name} after a forward and backward pass",
            diagnosis=f"{name} is never used in forward (or is detached): torch adds both biases, bias_ih and bias_hh"
            if name.startswith("bias")
            else f"{name} is never used in forward (or is detached)",
        )


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_initialisation_follows_torch(sub, bias):
    """Every parameter is drawn from U(-1/√H, 1/√H): inside the bound, spread over it, not all equal"""
    input_size, hidden_size = 16, 32
    bound = 1 / math.sqrt(hidden_size)
    sd = sub.GRUCell(input_size, hidden_size, bias=bias).state_dict()
    for name, value in sorted(sd.items()):
        value = value.double()
        where = f"GRUCell({input_size}, {hidden_size}, bias={bias}).{name}"
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
        )
        spread = float(value.std()) / (bound / math.sqrt(3))  # 1 for U(-bound, bound)
        check(
            0.6 < spread < 1.4 and largest > 0.5 * bound,
            f"{where} is not spread like U(-1/√H, 1/√H) (its standard deviation is {spread:.2f} times that of "
            "the uniform distribution): draw every entry independently from U(-1/√H, 1/√H)",
        )


# ---------------------------------------------------------------- one step


@public
def test_single_step_matches_torch(sub, device):
    """One step from a given state equals torch.nn.GRUCell's h' with the same weights, float64"""
    cell, sd = new_cell(sub, device, 5, 4, seed=1)
    x, h = randn(3, 5, seed=2, dtype=F64), randn(3, 4, seed=3, dtype=F64)
    check_step(cell(x, h), sd, x, h, device=device, seed=1)


@pytest.mark.parametrize(
    "input_size, hidden_size, batch", [(1, 1, 1), (3, 7, 2), (8, 2, 5), (6, 3, 1)], ids=lambda v: str(v)
)
def test_single_step_sizes(sub, device, input_size, hidden_size, batch):
    """Other sizes, batch size 1 included; inputs scaled by 3 so that some gates saturate"""
    cell, sd = new_cell(sub, device, input_size, hidden_size, seed=10 + input_size)
    x = randn(batch, input_size, seed=11, dtype=F64, scale=3.0)
    h = randn(batch, hidden_size, seed=12, dtype=F64)
    check_step(cell(x, h), sd, x, h, device=device, seed=10 + input_size)


def test_non_contiguous_inputs(sub, device):
    """x and h that are non-contiguous views (a transpose, a strided slice) give the same h'"""
    cell, sd = new_cell(sub, device, 5, 4, seed=15)
    x = randn(5, 3, seed=16, dtype=F64).T  # (3, 5), non-contiguous
    h = randn(3, 8, seed=17, dtype=F64)[:, ::2]  # (3, 4), every other column
    check_step(cell(x, h), sd, x, h, device=device, seed=15, what="cell(x transposed, h strided)")


def zero_state_mistake(cell, x, sd):
    """Why cell(x) fails where cell(x, zeros like x) works: the zero state's dtype, or ''."""
    zeros = torch.zeros(x.shape[0], sizes(sd)[1], dtype=x.dtype)
    try:
        works = torch.allclose(cell(x, zeros).double(), oracle_step(sd, x, None), rtol=1e-6, atol=1e-6)
    except Exception:  # noqa: BLE001 - it fails this way too
        return ""
    if works:
        return (
            "cell(x) fails where cell(x, zeros) works: create the zero state like x, "
            "x.new_zeros(B, H) (torch.zeros(B, H) is float32 and on the CPU whatever x's dtype and device)."
        )
    return ""


def test_state_none_is_zeros(sub, device):
    """cell(x) and cell(x, None) start from h = 0, in x's dtype and on x's device"""
    cell, sd = new_cell(sub, device, 4, 3, seed=20)
    x = randn(2, 4, seed=21, dtype=F64)
    with diagnosing(lazy(zero_state_mistake, cell, x, sd)):
        check_step(cell(x), sd, x, None, device=device, what="cell(x)")
    check_step(cell(x, None), sd, x, None, device=device, what="cell(x, None)")
    zeros = torch.zeros(2, 3, dtype=F64)
    check_step(cell(x, zeros), sd, x, zeros, device=device, what="cell(x, zeros)")


def test_bias_false_values(sub, device):
    """A cell without biases matches torch.nn.GRUCell(bias=False)"""
    cell, sd = new_cell(sub, device, 4, 3, bias=False, seed=30)
    x, h = randn(3, 4, seed=31, dtype=F64), randn(3, 3, seed=32, dtype=F64)
    check_step(cell(x, h), sd, x, h, device=device, seed=30)


def test_float32_cell(sub, device):
    """A cell left in its default float32 takes float32 inputs and returns float32 h'"""
    sd64 = torch_state_dict(5, 4, seed=40)
    cell = sub.GRUCell(5, 4).to(device)
    cell.load_state_dict({name: value.float() for name, value in sd64.items()})
    sd = {name: value.float().double() for name, value in sd64.items()}
    x, h = randn(3, 5, seed=41), randn(3, 4, seed=42)
    check_step(cell(x, h), sd, x, h, device=device, dtype=torch.float32, seed=40)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_low_precision_cell(sub, device, dtype):
    """A cell converted with .to(dtype) takes and returns float16/bfloat16 tensors"""
    cell, sd = new_cell(sub, device, 6, 4, dtype=dtype, seed=50)
    x, h = randn(3, 6, seed=51, dtype=dtype), randn(3, 4, seed=52, dtype=dtype)
    check_step(cell(x, h), sd, x, h, device=device, dtype=dtype, seed=50)


def test_step_leaves_inputs_unchanged(sub, device):
    """cell(x, h) does not modify x or h in place"""
    cell, _ = new_cell(sub, device, 3, 2, seed=60)
    x, h = randn(2, 3, seed=61, dtype=F64), randn(2, 2, seed=62, dtype=F64)
    cell(x, h)
    with diagnosing(
        "The state h is updated in place (h.mul_(z), h += ...): compute a new tensor, h' = (1 - z) * n + z * h."
    ):
        check_unchanged_inputs(sub, ["x", "h"])


X_NOT_CHECKED = "x is not checked: raise ValueError unless x.dim() == 2 and x.shape[1] == input_size"


@pytest.mark.parametrize("shape", [[2, 5], [2, 3], [4], [1, 2, 4]], ids=["wider", "narrower", "1-D", "3-D"])
def test_bad_x_raises_value_error(sub, shape):
    """x that is not [B, input_size] (wrong feature size, 1-D, 3-D) -> ValueError"""
    cell = sub.GRUCell(4, 3)
    expect_raises(
        ValueError,
        cell,
        randn(*shape, seed=70),
        call=f"GRUCell(4, 3)(x of shape {shape})",
        diagnosis=X_NOT_CHECKED + " (the matrix product's own error is a RuntimeError).",
    )


# ---------------------------------------------------------------- gradients of one step


def oracle_step_grads(sd, x, h, g):
    """d<g, h'> w.r.t. x, h and every parameter, from torch.nn.GRUCell in float64."""
    cell = torch_cell(sd)
    x_leaf = x.double().clone().requires_grad_(True)
    h_leaf = h.double().clone().requires_grad_(True)
    cell(x_leaf, h_leaf).backward(g.double())
    return x_leaf.grad, h_leaf.grad, {name: p.grad for name, p in cell.named_parameters()}


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no_bias"])
def test_step_gradients_match_torch(sub, device, bias):
    """Gradients of <g, h'> w.r.t. x, h and every parameter, in float64"""
    cell, sd = new_cell(sub, device, 5, 3, bias=bias, seed=80)
    x, h, g = randn(4, 5, seed=81, dtype=F64), randn(4, 3, seed=82, dtype=F64), randn(4, 3, seed=84, dtype=F64)
    with diagnosing(lazy(in_place_update, sub)):
        result = sub.grad_call(cell, x, h, wrt=[0, 1], grad_outputs=g)
    want_x, want_h, want_params = oracle_step_grads(sd, x, h, g)
    inputs = describe(x=x, h=h) + f", bias={bias}, a random upstream gradient on h'"
    for key, label, want in ((0, "x", want_x), (1, "h", want_h)):
        got = result.input_grads.get(key)
        check(
            got is not None, f"no gradient reached {label}: is the computation detached from it (.detach(), .item())?"
        )
        check_close(got, want, what=f"the gradient of {label}", kind="grad", inputs=inputs, device=device, seed=80)
    check_param_grads(result, want_params, inputs=inputs, device=device, seed=80)


# ---------------------------------------------------------------- sequences


@public
def test_sequence_matches_torch_gru(sub, device):
    """gru over 6 steps from a zero state equals torch.nn.GRU: outputs [T, B, H] and h_last"""
    cell, sd = new_cell(sub, device, 3, 4, seed=100)
    x = randn(6, 2, 3, seed=101, dtype=F64)
    got = run_gru(sub, x, cell, what="gru(x, cell)")
    check_sequence(got, sd, x, None, device=device, seed=100, what="gru(x, cell)")


def test_sequence_from_initial_state(sub, device):
    """gru(x, cell, h0) starts from the given state"""
    cell, sd = new_cell(sub, device, 3, 4, seed=110)
    x, h0 = randn(5, 3, 3, seed=111, dtype=F64), randn(3, 4, seed=112, dtype=F64)
    check_sequence(run_gru(sub, x, cell, h0), sd, x, h0, device=device, seed=110)


@pytest.mark.parametrize(
    "steps, batch, input_size, hidden_size, bias",
    [(1, 1, 2, 3, True), (1, 4, 3, 2, True), (8, 1, 4, 5, True), (4, 2, 3, 3, False)],
    ids=["T1_B1", "T1", "B1", "no_bias"],
)
def test_sequence_shapes(sub, device, steps, batch, input_size, hidden_size, bias):
    """T = 1, batch size 1 and bias=False, from a given state"""
    cell, sd = new_cell(sub, device, input_size, hidden_size, bias=bias, seed=120 + steps)
    x = randn(steps, batch, input_size, seed=121, dtype=F64, scale=2.0)
    h0 = randn(batch, hidden_size, seed=122, dtype=F64)
    check_sequence(run_gru(sub, x, cell, h0), sd, x, h0, device=device, seed=120 + steps)


def test_h_last_is_last_output(sub, device):
    """outputs[t] is the hidden state after step t, so h_last equals outputs[-1]"""
    cell, _ = new_cell(sub, device, 3, 2, seed=130)
    x = randn(4, 3, 3, seed=131, dtype=F64)
    out, h_last = run_gru(sub, x, cell)
    check(hasattr(out, "shape") and list(out.shape) == [4, 3, 2], "outputs should have shape [T, B, H] = [4, 3, 2]")
    first = hasattr(h_last, "shape") and _near(h_last, out[0].double()) and not _near(out[-1].double(), out[0].double())
    check_close(
        h_last,
        out[-1],
        what="h_last compared with outputs[-1]",
        hint="h_last is the state after the last step.",
        diagnosis=MISTAKES["h_last_first"] if first else "",
    )


def test_state_carried_across_calls(sub, device):
    """Splitting a sequence in two and passing the first call's h_last to the second gives the same outputs"""
    cell, sd = new_cell(sub, device, 3, 4, seed=140)
    x = randn(7, 2, 3, seed=141, dtype=F64)
    first_out, first_h = run_gru(sub, x[:3], cell, what="gru(x[:3], cell)")
    second_out, second_h = run_gru(sub, x[3:], cell, first_h, what="gru(x[3:], cell, h)")
    check(hasattr(first_out, "shape") and hasattr(second_out, "shape"), "gru should return a tensor of outputs")
    got = (torch.cat([first_out, second_out]), second_h)
    check_sequence(got, sd, x, None, device=device, seed=140, what="gru(x[:3], cell) then gru(x[3:], cell, h)")


def test_gru_equals_stepping_the_cell(sub, device):
    """gru(x, cell) gives the same outputs as calling cell(x[t], h) step by step"""
    cell, _ = new_cell(sub, device, 2, 3, seed=150)
    x = randn(4, 2, 2, seed=151, dtype=F64)
    out, _ = run_gru(sub, x, cell)
    h = None
    for t in range(4):
        h = cell(x[t], h)
        check_close(
            h,
            out[t],
            what=f"h after step {t} of the cell compared with gru's outputs[{t}]",
            hint="gru should apply the cell once per time step, carrying h.",
        )


def test_float32_sequence(sub, device):
    """A float32 cell over a float32 sequence gives float32 results within float32 tolerance"""
    sd64 = torch_state_dict(4, 5, seed=160)
    cell = sub.GRUCell(4, 5).to(device)
    cell.load_state_dict({name: value.float() for name, value in sd64.items()})
    sd = {name: value.float().double() for name, value in sd64.items()}
    x, h0 = randn(6, 3, 4, seed=161), randn(3, 5, seed=162)
    check_sequence(run_gru(sub, x, cell, h0), sd, x, h0, device=device, dtype=torch.float32, seed=160)


def test_sequence_leaves_inputs_unchanged(sub, device):
    """gru(x, cell, h0) does not modify x or h0 in place"""
    cell, _ = new_cell(sub, device, 3, 2, seed=170)
    x, h0 = randn(4, 2, 3, seed=171, dtype=F64), randn(2, 2, seed=172, dtype=F64)
    run_gru(sub, x, cell, h0)
    check_unchanged_inputs(sub, ["x", "cell", "h"])


@pytest.mark.parametrize("shape", [[4, 3], [1, 4, 2, 3]], ids=["2-D", "4-D"])
def test_gru_rejects_x_not_3d(sub, shape):
    """gru needs x of shape [T, B, I]: a 2-D or 4-D x -> ValueError"""
    cell = sub.GRUCell(3, 2)
    expect_raises(
        ValueError,
        sub.gru,
        randn(*shape, seed=180),
        cell,
        call=f"gru(x of shape {shape}, cell)",
        diagnosis="gru does not check that x is 3-D: raise ValueError unless x.dim() == 3.",
    )


@settings(
    derandomize=True,
    max_examples=15,
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
    """Random sizes, with and without biases and initial state, against torch.nn.GRU"""
    cell, sd = new_cell(sub, "cpu", input_size, hidden_size, bias=bias, seed=seed)
    x = randn(steps, batch, input_size, seed=seed + 1, dtype=F64, scale=2.0)
    h0 = randn(batch, hidden_size, seed=seed + 2, dtype=F64) if with_state else None
    got = run_gru(sub, x, cell, *([h0] if with_state else []))
    check_sequence(got, sd, x, h0, device="cpu", seed=seed)


# ---------------------------------------------------------------- gradients through time


def oracle_sequence_grads(sd, x, h0, g_out, g_h):
    """d<g_out, outputs> + <g_h, h_last> w.r.t. x, from torch.nn.GRU in float64."""
    leaf = x.double().clone().requires_grad_(True)
    out, h_n = torch_gru(sd)(leaf, h0.double()[None])
    torch.autograd.backward([out, h_n[0]], [g_out, g_h])
    return leaf.grad


def detached_state(got, sd, x, h0, g_out, g_h):
    """Whether the gradient ``got`` of x is the one a state detached between steps gives."""
    leaf = x.double().clone().requires_grad_(True)
    h, outs = h0.double(), []
    for x_t in leaf:
        h = manual_step(sd, x_t, h.detach())
        outs.append(h)
    out = torch.stack(outs)  # (T, B, H)
    through_outputs = torch.autograd.grad(out, leaf, g_out, retain_graph=True)[0]  # the final state detached too
    through_all = torch.autograd.grad([out, h], leaf, [g_out, g_h])[0]
    if _near(got, through_outputs) or _near(got, through_all):
        return (
            "The gradients match a state detached between time steps: do not detach h, so the gradient "
            "flows back through time."
        )
    return ""


@pytest.mark.parametrize("upstream", ["all", "h_last_only"])
def test_sequence_gradients_match_torch(sub, device, upstream):
    """Gradients w.r.t. every x[t] flow back through h across time steps, in float64"""
    steps, batch, n_in, n_hid = 5, 2, 3, 4
    cell, sd = new_cell(sub, device, n_in, n_hid, seed=190)
    x, h0 = randn(steps, batch, n_in, seed=191, dtype=F64), randn(batch, n_hid, seed=192, dtype=F64)
    g_out = randn(steps, batch, n_hid, seed=194, dtype=F64) * (upstream == "all")
    g_h = randn(batch, n_hid, seed=195, dtype=F64)
    result = sub.grad_call(sub.gru, x, cell, h0, wrt=[0], grad_outputs=(g_out, g_h))
    got = result.input_grads.get(0)
    check(got is not None, "no gradient reached x: is the computation detached from it (.detach(), .item())?")
    label = {"all": "on every output and on h_last", "h_last_only": "on h_last only"}[upstream]
    check_close(
        got,
        oracle_sequence_grads(sd, x, h0, g_out, g_h),
        what="the gradient of x",
        kind="grad",
        inputs=describe(x=x, h0=h0) + f", upstream gradient {label}",
        diagnosis=lazy(detached_state, got, sd, x, h0, g_out, g_h),
        device=device,
        seed=190,
    )
