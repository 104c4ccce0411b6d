"""Specs for rnn_forward: values and gradients against a one-layer torch.nn.RNN holding the
same weights (bias_ih = b_h, bias_hh = 0) in float64, shapes, T = 0, dtypes, hygiene and
the ValueErrors."""

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from grader.spec import (
    Mistake,
    check,
    check_close,
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
HALF = (torch.float16, torch.bfloat16)
NAMES = ("x", "h0", "W_xh", "W_hh", "b_h")

# ---------------------------------------------------------------- cases and the oracle


def make_case(steps, batch, input_size, hidden_size, *, seed, dtype=F64, x_scale=1.0):
    """Seeded (x, h0, W_xh, W_hh, b_h); W_hh ~ N(0, 0.5²), large enough that the state matters."""
    return (
        randn(steps, batch, input_size, seed=seed, dtype=dtype, scale=x_scale),
        randn(batch, hidden_size, seed=seed + 1, dtype=dtype, scale=0.8),
        randn(hidden_size, input_size, seed=seed + 2, dtype=dtype, scale=0.6),
        randn(hidden_size, hidden_size, seed=seed + 3, dtype=dtype, scale=0.5),
        randn(hidden_size, seed=seed + 4, dtype=dtype, scale=0.5),
    )


def torch_rnn(W_xh, W_hh, b_h, requires_grad=False):
    """A float64 one-layer tanh torch.nn.RNN holding these weights (built on the meta device, so
    no initialisation draws from the judge's RNG)."""
    hidden_size, input_size = W_xh.shape
    net = nn.RNN(input_size, hidden_size, nonlinearity="tanh", dtype=F64, device="meta").to_empty(device="cpu")
    with torch.no_grad():
        net.weight_ih_l0.copy_(W_xh.double())
        net.weight_hh_l0.copy_(W_hh.double())
        net.bias_ih_l0.copy_(b_h.double())
        net.bias_hh_l0.zero_()
    for param in net.parameters():
        param.requires_grad_(requires_grad)
    return net


def oracle(x, h0, W_xh, W_hh, b_h):
    """(outputs [T, B, H], h_last [B, H]) of torch.nn.RNN in float64 (T ≥ 1)."""
    with torch.no_grad():
        out, h_n = torch_rnn(W_xh, W_hh, b_h)(x.double(), h0.double()[None])
    return out, h_n[0]


def oracle_grads(case, g_out, g_h):
    """The gradients of <g_out, outputs> + <g_h, h_last> w.r.t. the five inputs, from torch.nn.RNN."""
    x, h0, W_xh, W_hh, b_h = case
    net = torch_rnn(W_xh, W_hh, b_h, requires_grad=True)
    x_leaf, h_leaf = x.double().requires_grad_(True), h0.double()[None].requires_grad_(True)
    out, h_n = net(x_leaf, h_leaf)
    torch.autograd.backward([out, h_n[0]], [g_out, g_h])
    return [x_leaf.grad, h_leaf.grad[0], net.weight_ih_l0.grad, net.weight_hh_l0.grad, net.bias_ih_l0.grad]


# ---------------------------------------------------------------- typical mistakes (diagnosis)

MISTAKES = {
    "h0_ignored": "It matches starting from zeros: the recurrence must start from the h0 passed in.",
    "hh_not_transposed": "It matches h_{t−1} W_hh: W_hh is not transposed. The recurrent term is h_{t−1} W_hhᵀ "
    "(h @ W_hh.T), W_hh being [H_out, H_in] like an nn.Linear weight.",
    "xh_not_transposed": "It matches x_t W_xh: W_xh is not transposed. The input term is x_t W_xhᵀ (x_t @ W_xh.T).",
    "bias_twice": "It matches the bias added twice (once with each term, as torch's two biases): there is one "
    "bias here, b_h, added once.",
    "no_bias": "It matches the recurrence without the bias: h_t = tanh(x_t W_xhᵀ + h_{t−1} W_hhᵀ + b_h).",
    "relu": "It matches ReLU as the nonlinearity: the Elman RNN (torch's default) uses tanh.",
    "pre_activation": "It matches outputs that hold the pre-activations: outputs[t] is the state h_t after the "
    "tanh, the same h that is carried to the next step.",
    "before_update": "It matches outputs[t] = the state before reading x[t] (outputs[0] = h0): append h after "
    "computing it, so outputs[t] is the state after reading x[t].",
    "h_last_first": "It matches h_last taken from the first step (outputs[0]): h_last is the state after the "
    "last step, outputs[T − 1].",
    "batch_first": "It matches the outputs stacked batch first, [B, T, H]: stack them time first, "
    "torch.stack(outputs) along dim 0.",
}


def variant(case, mistake):
    """(outputs, [acceptable h_last]) in float64 of the recurrence with one typical mistake."""
    x, h, W_xh, W_hh, b_h = (t.double() for t in case)
    if mistake == "h0_ignored":
        h = torch.zeros_like(h)
    if mistake == "hh_not_transposed":
        W_hh = W_hh.T
    if mistake == "xh_not_transposed":
        if W_xh.shape[0] != W_xh.shape[1]:
            return None  # it would not run
        W_xh = W_xh.T
    bias = {"bias_twice": 2 * b_h, "no_bias": torch.zeros_like(b_h)}.get(mistake, b_h)
    act = torch.relu if mistake == "relu" else torch.tanh
    states, pres = [h], []
    for x_t in x:
        pre = x_t @ W_xh.T + states[-1] @ W_hh.T + bias  # (B, H)
        pres.append(pre)
        states.append(act(pre))
    out = torch.stack(states[1:])  # (T, B, H)
    if mistake == "pre_activation":
        return torch.stack(pres), [states[-1], pres[-1]]
    if mistake == "before_update":
        return torch.stack(states[:-1]), [states[-1], states[-2]]
    if mistake == "h_last_first":
        return out, [out[0]]
    if mistake == "batch_first":
        return out.transpose(0, 1), [out[-1]]
    return out, [out[-1]]


def _near(a, b):
    return (
        hasattr(a, "shape") and tuple(a.shape) == tuple(b.shape) and torch.allclose(a.double(), b, rtol=1e-3, atol=1e-3)
    )


def dtype_mistake(got, want):
    """Why a result has the wrong dtype, where the pattern is a known one, or ''."""
    if not hasattr(got, "dtype") or got.dtype == want:
        return ""
    if want in HALF and got.dtype == torch.float32:
        return (
            "The results are computed in float32 but not cast back: return float16/bfloat16 results in the input "
            "dtype (.to(x.dtype))."
        )
    if want == F64 and got.dtype == torch.float32:
        return (
            "float64 inputs give float32 results: a float32 tensor is created or used somewhere (torch.zeros(T, B, H) "
            "and torch.tensor(...) are float32 whatever the inputs; .float()): create buffers like x "
            "(x.new_zeros(...)) and compute float64 inputs in float64."
        )
    return ""


def diagnose(got, case):
    """The typical mistake the result (outputs, h_last) matches, in the learner's words, or ''."""
    got_out, got_h = got
    x = case[0]
    for value in (got_out, got_h):
        why = dtype_mistake(value, x.dtype)
        if why:
            return why
    want_out, want_h = oracle(*case)
    if x.dtype == F64 and _near(got_out, want_out) and _near(got_h, want_h):
        error = max(float((got_out.double() - want_out).abs().max()), float((got_h.double() - want_h).abs().max()))
        if 1e-9 < error < 1e-4:
            return (
                "The errors are the size of float32 rounding: a float64 input is computed in float32 somewhere "
                "(.float(), a float32 buffer); compute float64 inputs in float64."
            )
    for name, message in MISTAKES.items():
        wrong = variant(case, name)
        if wrong is None:
            continue
        wrong_out, wrong_hs = wrong
        if _near(wrong_out, want_out) and any(_near(h, want_h) for h in wrong_hs):
            continue  # this case cannot tell the mistake apart
        if _near(got_out, wrong_out) and any(_near(got_h, h) for h in wrong_hs):
            return message
    return ""


# ---------------------------------------------------------------- calling the submission


def run(sub, case, what="rnn_forward(x, h0, W_xh, W_hh, b_h)"):
    """Call rnn_forward and check it returned (outputs [T, B, H], h_last [B, H]) shaped tensors."""
    __tracebackhide__ = True
    got = sub.rnn_forward(*case)
    check(
        isinstance(got, (tuple, list)) and len(got) == 2,
        f"{what} should return a tuple (outputs, h_last), got {type(got).__name__}.",
    )
    return check_shapes(tuple(got), case, what)


def check_shapes(got, case, what):
    __tracebackhide__ = True
    out, h_last = got
    (T, B, _), H = case[0].shape, case[3].shape[0]
    shape = list(getattr(out, "shape", []))
    inputs = describe(**dict(zip(NAMES, case)))
    check(
        hasattr(out, "shape") and shape == [T, B, H],
        f"{what}: outputs should have shape [T, B, H] = {[T, B, H]}, got "
        f"{shape if hasattr(out, 'shape') else type(out).__name__}. Inputs: {inputs}.",
        diagnosis=MISTAKES["batch_first"] if shape == [B, T, H] and T != B else "",
    )
    shape = list(getattr(h_last, "shape", []))
    check(
        hasattr(h_last, "shape") and shape == [B, H],
        f"{what}: h_last should have shape [B, H] = {[B, H]}, got "
        f"{shape if hasattr(h_last, 'shape') else type(h_last).__name__}. Inputs: {inputs}.",
        diagnosis="h_last keeps torch.nn.RNN's layer dimension: return it as [B, H], not [1, B, H]."
        if shape == [1, B, H]
        else "",
    )
    return out, h_last


def check_result(got, case, *, device, seed=None, what="rnn_forward(x, h0, W_xh, W_hh, b_h)", kind="reduction"):
    """Compare (outputs, h_last) with torch.nn.RNN's in float64, at the tolerance of x's dtype."""
    __tracebackhide__ = True
    dtype = case[0].dtype
    want_out, want_h = oracle(*case)
    why = lazy(diagnose, got, case)
    inputs = describe(**dict(zip(NAMES, case)))
    for name, value, want in (("outputs", got[0], want_out), ("h_last", got[1], want_h)):
        check_close(
            value,
            want,
            what=f"{what}: {name}",
            kind=kind,
            dtype=dtype,
            inputs=inputs,
            seed=seed,
            diagnosis=why,
            device=device,
        )


def modifies_inputs(sub):
    """Why a call failed, where it is an input modified in place, or ''."""
    sub.rnn_forward(*make_case(3, 2, 2, 3, seed=7))
    if sub.last_call.mutated:
        names = [NAMES[m] if isinstance(m, int) and m < len(NAMES) else str(m) for m in sub.last_call.mutated]
        return (
            f"{', '.join(names)} is modified in place (h.copy_(...), h0 += ..., tanh_): compute a new tensor for "
            "each step, h = torch.tanh(...)."
        )
    return ""


# ---------------------------------------------------------------- values

EXAMPLE = (
    torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]], [[-1.0, 1.0]]], dtype=F64),  # x [T=3, B=1, I=2]
    torch.zeros(1, 2, dtype=F64),  # h0
    torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=F64),  # W_xh
    torch.tensor([[0.0, 1.0], [-0.5, 0.0]], dtype=F64),  # W_hh
    torch.tensor([0.5, 0.0], dtype=F64),  # b_h
)


@public
def test_prompt_example(sub):
    """The prompt's worked example: outputs [[0.9051, 0]], [[0.4621, 0.4986]], [[-0.0014, 0.6463]]"""
    got = run(sub, EXAMPLE)
    check_result(got, EXAMPLE, device="cpu", what="rnn_forward on the example")
    hand = torch.tensor([[[0.9051, 0.0]], [[0.4621, 0.4986]], [[-0.0014, 0.6463]]], dtype=F64)
    check_close(
        got[0],
        hand,
        what="rnn_forward on the example: outputs (to 4 decimals)",
        atol=1e-4,
        rtol=0,
        diagnosis=lazy(diagnose, got, EXAMPLE),
    )


@public
def test_matches_torch_rnn(sub, device):
    """6 steps, batch 3, I = 4, H = 5, from a random h0: equals torch.nn.RNN with the same weights, float64"""
    case = make_case(6, 3, 4, 5, seed=1)
    check_result(run(sub, case), case, device=device, seed=1)


@pytest.mark.parametrize(
    "steps, batch, input_size, hidden_size",
    [(1, 1, 1, 1), (1, 4, 3, 2), (7, 1, 2, 3), (4, 4, 3, 3), (3, 2, 5, 1)],
    ids=["T1_B1_I1_H1", "T1", "B1", "T_eq_B", "H1"],
)
def test_sizes(sub, device, steps, batch, input_size, hidden_size):
    """T = 1, batch size 1, H = 1, T = B and I = H, with inputs scaled by 2 so that some states saturate"""
    case = make_case(steps, batch, input_size, hidden_size, seed=10 + steps, x_scale=2.0)
    check_result(run(sub, case), case, device=device, seed=10 + steps)


def test_h_last_is_last_output(sub, device):
    """h_last equals outputs[T − 1], the state after the last step"""
    case = make_case(5, 2, 3, 4, seed=20)
    out, h_last = run(sub, case)
    check_close(
        h_last,
        out[-1],
        what="h_last compared with outputs[T - 1]",
        inputs=describe(**dict(zip(NAMES, case))),
        diagnosis=MISTAKES["h_last_first"] if _near(h_last, out[0].double()) else "",
        hint="h_last is the state after the last step.",
    )


def test_state_carried_across_calls(sub, device):
    """Running x[:3] and then x[3:] from the first call's h_last gives the outputs of one run over x"""
    x, h0, W_xh, W_hh, b_h = case = make_case(7, 2, 3, 4, seed=30)
    first = run(sub, (x[:3], h0, W_xh, W_hh, b_h), what="rnn_forward(x[:3], h0, ...)")
    second = run(sub, (x[3:], first[1], W_xh, W_hh, b_h), what="rnn_forward(x[3:], h_last, ...)")
    got = (torch.cat([first[0], second[0]]), second[1])
    check_result(
        got, case, device=device, seed=30, what="rnn_forward(x[:3], h0, ...) then rnn_forward(x[3:], h_last, ...)"
    )


def test_float32(sub, device):
    """float32 inputs give float32 results within float32 tolerance"""
    case = make_case(6, 3, 4, 5, seed=40, dtype=torch.float32)
    check_result(run(sub, case), case, device=device, seed=40)


@pytest.mark.parametrize("dtype", HALF, ids=["float16", "bfloat16"])
def test_low_precision(sub, device, dtype):
    """float16/bfloat16 inputs give results in the same dtype (computing in float32 inside is fine)"""
    case = make_case(8, 3, 6, 5, seed=50, dtype=dtype)
    check_result(run(sub, case), case, device=device, seed=50)


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
    seed=st.integers(0, 10_000),
)
def test_random_sizes(sub, steps, batch, input_size, hidden_size, seed):
    """Random sizes and weights against torch.nn.RNN, float64"""
    case = make_case(steps, batch, input_size, hidden_size, seed=seed, x_scale=1.5)
    check_result(run(sub, case), case, device="cpu", seed=seed)


# ---------------------------------------------------------------- gradients


def detached_state(got_grads, case, g_out, g_h):
    """Whether the gradients are those of a state detached between steps (or after the first one)."""
    x, h0, W_xh, W_hh, b_h = (t.double().clone().requires_grad_(True) for t in case)
    h, outs = h0, []
    for x_t in x:
        h = torch.tanh(x_t @ W_xh.T + h.detach() @ W_hh.T + b_h)
        outs.append(h)
    want = torch.autograd.grad([torch.stack(outs), h], [x, W_hh], [g_out, g_h], allow_unused=True)
    got_x, got_hh = got_grads[0], got_grads[3]
    if _near(got_x, want[0]) and (got_hh is None or _near(got_hh, want[1])):
        return (
            "The gradients match a state detached between time steps (h.detach(), .data, torch.no_grad): keep h in "
            "the graph so the gradient flows back through time."
        )
    return ""


@pytest.mark.parametrize("upstream", ["all", "h_last_only", "outputs_only"])
def test_gradients_match_torch(sub, device, upstream):
    """Gradients w.r.t. x, h0, W_xh, W_hh and b_h flow back through every step, as torch.nn.RNN's (float64)"""
    case = make_case(5, 2, 3, 4, seed=60)
    g_out = randn(5, 2, 4, seed=61, dtype=F64) * (upstream != "h_last_only")
    g_h = randn(2, 4, seed=62, dtype=F64) * (upstream != "outputs_only")
    with diagnosing(lazy(modifies_inputs, sub)):
        result = sub.grad_call(sub.rnn_forward, *case, wrt=[0, 1, 2, 3, 4], grad_outputs=(g_out, g_h))
    got = [result.input_grads.get(i) for i in range(5)]
    want = oracle_grads(case, g_out, g_h)
    label = {"all": "on outputs and h_last", "h_last_only": "on h_last only", "outputs_only": "on outputs only"}
    inputs = describe(**dict(zip(NAMES, case))) + f", upstream gradient {label[upstream]}"
    why = lazy(detached_state, got, case, g_out, g_h)
    for name, got_grad, want_grad in zip(NAMES, got, want):
        check(
            got_grad is not None,
            f"no gradient reached {name}: is the computation detached from it (.detach(), .item(), torch.no_grad)?",
            diagnosis=why,
        )
        check_close(
            got_grad,
            want_grad,
            what=f"the gradient of {name}",
            kind="grad",
            inputs=inputs,
            diagnosis=why,
            device=device,
            seed=60,
        )


# ---------------------------------------------------------------- T = 0

EMPTY = (
    "T = 0 (x of shape [0, B, I]) is not handled: there is no step, so return outputs of shape [0, B, H] "
    "(x.new_zeros(0, B, H), torch.stack of an empty list fails) and h_last = h0.clone()."
)


@pytest.mark.parametrize("dtype", [F64, torch.float16], ids=["float64", "float16"])
def test_empty_sequence(sub, device, dtype):
    """T = 0: outputs is [0, B, H] and h_last equals h0, in the inputs' dtype and device"""
    x, h0, W_xh, W_hh, b_h = make_case(0, 3, 2, 4, seed=70, dtype=dtype)
    case = (x, h0, W_xh, W_hh, b_h)
    what = "rnn_forward(x of shape [0, 3, 2], h0, ...)"
    with diagnosing(EMPTY):
        out, h_last = run(sub, case, what=what)
    inputs = describe(**dict(zip(NAMES, case)))
    check_close(
        out,
        torch.zeros(0, 3, 4, dtype=dtype),
        what=f"{what}: outputs",
        inputs=inputs,
        device=device,
        diagnosis=lazy(dtype_mistake, out, dtype),
    )
    check_close(
        h_last,
        h0,
        what=f"{what}: h_last (h0 itself: no step was taken)",
        inputs=inputs,
        device=device,
        rtol=0,
        atol=0,
        diagnosis=lazy(dtype_mistake, h_last, dtype),
    )


# ---------------------------------------------------------------- hygiene


def test_inputs_unchanged(sub, device):
    """rnn_forward does not modify x, h0, W_xh, W_hh or b_h in place"""
    run(sub, make_case(4, 2, 3, 3, seed=80))
    with diagnosing(lazy(modifies_inputs, sub)):
        check_unchanged_inputs(sub, list(NAMES))


# ---------------------------------------------------------------- errors

NOT_CHECKED = "The shapes are not checked: raise ValueError unless x is [T, B, I], h0 [B, H], W_xh [H, I], W_hh [H, H] and b_h [H]"
# name: (shapes of x, h0, W_xh, W_hh, b_h; with T = 3, B = 2, I = 4, H = 5)
BAD_SHAPES = {
    "x_2d": [(2, 4), (2, 5), (5, 4), (5, 5), (5,)],
    "h0_3d": [(3, 2, 4), (1, 2, 5), (5, 4), (5, 5), (5,)],
    "h0_batch": [(3, 2, 4), (3, 5), (5, 4), (5, 5), (5,)],
    "h0_hidden": [(3, 2, 4), (2, 4), (5, 4), (5, 5), (5,)],
    "W_xh_transposed": [(3, 2, 4), (2, 5), (4, 5), (5, 5), (5,)],
    "W_xh_input_size": [(3, 2, 4), (2, 5), (5, 3), (5, 5), (5,)],
    "W_hh_not_square": [(3, 2, 4), (2, 5), (5, 4), (5, 6), (5,)],
    "b_h_length_1": [(3, 2, 4), (2, 5), (5, 4), (5, 5), (1,)],
    "b_h_length": [(3, 2, 4), (2, 5), (5, 4), (5, 5), (4,)],
}


@pytest.mark.parametrize("case", list(BAD_SHAPES))
def test_inconsistent_shapes_raise_value_error(sub, case):
    """Shapes that do not fit x [T, B, I], h0 [B, H], W_xh [H, I], W_hh [H, H], b_h [H] -> ValueError"""
    shapes = BAD_SHAPES[case]
    args = [randn(*shape, seed=90 + i, scale=0.5) for i, shape in enumerate(shapes)]
    call = "rnn_forward(" + ", ".join(f"{n} {list(s)}" for n, s in zip(NAMES, shapes)) + ")"
    try:
        expect_raises(ValueError, sub.rnn_forward, *args, call=call)
    except Mistake as exc:
        fail(
            str(exc),
            diagnosis=f"{NOT_CHECKED} (a RuntimeError from a matrix product is not a ValueError, and a "
            "broadcast can silently hide a wrong shape).",
        )


def test_h0_none_raises_value_error(sub):
    """h0 = None -> ValueError (there is no default state)"""
    x, _, W_xh, W_hh, b_h = make_case(3, 2, 4, 5, seed=95)
    expect_raises(
        ValueError,
        sub.rnn_forward,
        x,
        None,
        W_xh,
        W_hh,
        b_h,
        call="rnn_forward(x [3, 2, 4], None, W_xh [5, 4], W_hh [5, 5], b_h [5])",
        diagnosis="h0 = None is not rejected: rnn_forward has no default state, raise ValueError when h0 is None.",
    )
