"""Specs for hidden_grad_norms and clip_grad_norm.

hidden_grad_norms is compared with an oracle built on torch.nn.RNN in float64: for each t,
the RNN is rerun from outputs[t] (as its initial state, a leaf) over x[t+1:], and the
gradient of its last state's sum w.r.t. that leaf is ∂L/∂outputs[t] through every path.
Typical mistakes are recognised by a from-scratch backward pass with the mistake put in.
clip_grad_norm is compared with the formula in float64."""

import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from grader.spec import (
    check,
    check_close,
    check_unchanged_inputs,
    describe,
    describe_value,
    diagnosing,
    expect_raises,
    lazy,
    public,
    randn,
    remote_meta,
)

F64 = torch.float64

# ---------------------------------------------------------------- the oracle for hidden_grad_norms


def torch_rnn(W_xh, W_hh, b_h):
    """A float64 torch.nn.RNN (tanh) holding the weights, with b_hh = 0."""
    hidden_size, input_size = W_xh.shape
    with torch.random.fork_rng(devices=[]):  # its own initialisation is overwritten below
        rnn = nn.RNN(input_size, hidden_size, dtype=F64)
    rnn.load_state_dict(
        {
            "weight_ih_l0": W_xh.double(),
            "weight_hh_l0": W_hh.double(),
            "bias_ih_l0": b_h.double(),
            "bias_hh_l0": torch.zeros(hidden_size, dtype=F64),
        }
    )
    return rnn


def oracle_norms(x, h0, W_xh, W_hh, b_h):
    """‖∂L/∂outputs[t]‖ for L = outputs[T−1].sum(), from torch.nn.RNN in float64 (shape [T])."""
    x, h0 = x.double(), h0.double()
    steps = x.shape[0]
    if steps == 0:
        return torch.zeros(0, dtype=F64)
    rnn = torch_rnn(W_xh, W_hh, b_h)
    with torch.no_grad():
        outputs, _ = rnn(x, h0[None])  # (T, B, H)
    norms = []
    for t in range(steps):
        if t == steps - 1:
            grad = torch.ones_like(outputs[t])  # ∂L/∂outputs[T−1] = 1
        else:
            leaf = outputs[t].clone().requires_grad_(True)  # (B, H): restart the RNN from the state after step t
            with torch.enable_grad():
                _, h_last = rnn(x[t + 1 :], leaf[None])
                (grad,) = torch.autograd.grad(h_last.sum(), leaf)
        norms.append(grad.norm())
    return torch.stack(norms)


# ---------------------------------------------------------------- typical mistakes (diagnosis)

NORM_MISTAKES = {
    "reverse": "It matches the norms in reverse time order: entry t belongs to outputs[t], so the last entry "
    "(the last state, √(B·H)) comes last.",
    "direct_path": "It matches the gradient through one step only (∂outputs[t+1].sum()/∂outputs[t]): "
    "∂L/∂outputs[t] goes through every later step, a product of the Jacobians from t+1 to T−1.",
    "detached": "It matches a state detached between steps: the earlier states get no gradient. Keep the chain "
    "h_{t−1} → h_t in the graph so that L reaches every state.",
    "h0_included": "It includes h0: the result has one entry per step, for outputs[0..T−1], not for h0.",
    "one_batch": "It matches the norm over one batch element: take the 2-norm over all B·H entries of ∂L/∂outputs[t].",
    "squared": "It matches the squared 2-norm: take the square root of the sum of squares.",
    "all_steps": "It matches L summed over every time step (outputs.sum()): L = outputs[T−1].sum(), the last "
    "state only.",
    "mean": "It matches L = outputs[T−1].mean(): L is the sum, so the last entry is √(B·H).",
    "not_transposed": "It matches a recurrence with W_hh not transposed (h @ W_hh): h_t = tanh(x_t W_xhᵀ + "
    "h_{t−1} W_hhᵀ + b_h).",
}


def manual_norms(x, h0, W_xh, W_hh, b_h, mistake=""):
    """The norms by a from-scratch float64 backward pass, optionally with one typical mistake."""
    x, h0, W_xh, W_hh, b_h = (t.double() for t in (x, h0, W_xh, W_hh, b_h))
    W_rec = W_hh if mistake == "not_transposed" else W_hh.T  # h @ W_rec
    states = [h0]
    for x_t in x:
        states.append(torch.tanh(x_t @ W_xh.T + states[-1] @ W_rec + b_h))  # (B, H)
    steps = x.shape[0]
    ones = torch.ones_like(h0)
    grads = [ones]  # ∂L/∂h_T, then going back: g_{t−1} = (g_t ⊙ (1 − h_t²)) W_recᵀ
    for t in range(steps, 0, -1):  # states[t] is outputs[t−1]
        local = (1 - states[t] ** 2) @ W_rec.T  # ∂(states[t].sum())/∂states[t−1]
        if mistake == "direct_path":
            grads.append(local)
        elif mistake == "detached":
            grads.append(torch.zeros_like(ones))
        else:
            back = (grads[-1] * (1 - states[t] ** 2)) @ W_rec.T
            grads.append(back + ones if mistake == "all_steps" and t > 1 else back)
    grads = grads[::-1]  # grads[t] belongs to states[t]: grads[0] to h0, grads[t + 1] to outputs[t]
    if mistake != "h0_included":
        grads = grads[1:]
    if mistake == "one_batch":
        norms = [g[0].norm() for g in grads]
    else:
        norms = [g.norm() for g in grads]
    norms = torch.stack(norms) if norms else torch.zeros(0, dtype=F64)
    if mistake == "reverse":
        norms = norms.flip(0)
    elif mistake == "squared":
        norms = norms**2
    elif mistake == "mean":
        norms = norms / h0.numel()
    return norms


def _near(a, b, rtol=1e-3, atol=1e-6):
    return (
        hasattr(a, "shape")
        and tuple(a.shape) == tuple(b.shape)
        and torch.allclose(a.double(), b.double(), rtol=rtol, atol=atol)
    )


def diagnose_norms(got, x, h0, W_xh, W_hh, b_h):
    """The typical mistake the result ``got`` matches (and the right answer does not), or ''."""
    if hasattr(got, "dtype") and got.dtype != x.dtype and got.dtype == torch.float32:
        return (
            "The result is float32 whatever x's dtype: torch.tensor([... .item() ...]) makes a new float32 CPU "
            "tensor. Build it from the gradient tensors (torch.stack, .norm()) so that it keeps x's dtype and device."
        )
    right = manual_norms(x, h0, W_xh, W_hh, b_h)
    if _near(got, right):
        return ""
    for name, message in NORM_MISTAKES.items():
        wrong = manual_norms(x, h0, W_xh, W_hh, b_h, name)
        if not _near(wrong, right) and _near(got, wrong):
            return message
    return ""


# ---------------------------------------------------------------- calling hidden_grad_norms


def rnn_case(steps, batch, input_size, hidden_size, *, seed, scale=1.0, dtype=F64):
    """Seeded inputs: x [T, B, I], h0 [B, H], W_xh [H, I], W_hh [H, H] (spectral norm ~scale), b_h [H]."""
    x = randn(steps, batch, input_size, seed=seed, dtype=dtype)
    h0 = randn(batch, hidden_size, seed=seed + 1, dtype=dtype, scale=0.5)
    W_xh = randn(hidden_size, input_size, seed=seed + 2, dtype=dtype, scale=1 / math.sqrt(input_size))
    W_hh = randn(hidden_size, hidden_size, seed=seed + 3, dtype=dtype, scale=scale / (2 * math.sqrt(hidden_size)))
    b_h = randn(hidden_size, seed=seed + 4, dtype=dtype, scale=0.1)
    return x, h0, W_xh, W_hh, b_h


def run_norms(sub, args, *, device, seed=None, dtype=None, kind="grad", rtol=None, atol=None, what=""):
    """Call hidden_grad_norms(*args) and compare with the oracle."""
    __tracebackhide__ = True
    x = args[0]
    got = sub.hidden_grad_norms(*args)
    want = oracle_norms(*args)
    what = what or "hidden_grad_norms(x, h0, W_xh, W_hh, b_h)"
    inputs = describe(x=x, h0=args[1], W_xh=args[2], W_hh=args[3], b_h=args[4])
    check_close(
        got,
        want.to(dtype or x.dtype),
        what=what,
        kind=kind,
        rtol=rtol,
        atol=atol,
        inputs=inputs,
        seed=seed,
        diagnosis=lazy(diagnose_norms, got, *args),
        device=device,
        hint="Entry t is ‖∂L/∂outputs[t]‖₂ over all B·H entries, L = outputs[T−1].sum().",
    )
    return got


def orthogonal_4():
    """A fixed 4×4 orthogonal matrix, not symmetric: a Hadamard matrix / 2, then a rotation by 90° in one plane."""
    rot = torch.tensor([[0.0, -1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]])
    mix = torch.tensor([[1.0, 1.0, 1.0, 1.0], [1.0, -1.0, 1.0, -1.0], [1.0, 1.0, -1.0, -1.0], [1.0, -1.0, -1.0, 1.0]])
    return (rot @ mix / 2).to(F64)  # (4, 4), QᵀQ = I


# ---------------------------------------------------------------- hidden_grad_norms


@public
def test_one_entry_per_step_last_is_sqrt_BH(sub):
    """The result has shape [T], and its last entry ‖∂L/∂outputs[T−1]‖ = ‖ones(B, H)‖ = √(B·H)"""
    args = rnn_case(5, 3, 2, 4, seed=1)
    got = sub.hidden_grad_norms(*args)
    why = lazy(diagnose_norms, got, *args)
    check(
        hasattr(got, "shape") and hasattr(got, "dtype"),
        f"hidden_grad_norms should return a tensor, got {describe_value(got)}",
    )
    check(
        list(got.shape) == [5],
        f"hidden_grad_norms(x of shape [5, 3, 2], ...) should return a tensor of shape [T] = [5] (one norm per "
        f"step), got shape {list(got.shape)}",
        diagnosis="It has one norm per batch element ([T, B]): take the 2-norm over all B·H entries of each "
        "gradient (g.norm(), not g.norm(dim=-1))."
        if list(got.shape) == [5, 3]
        else why,
    )
    check_close(
        got[-1],
        torch.tensor(math.sqrt(12), dtype=F64),
        what="the last entry of hidden_grad_norms (B = 3, H = 4)",
        inputs=describe(x=args[0], h0=args[1]),
        hint="∂L/∂outputs[T−1] is a tensor of ones, L = outputs[T−1].sum(), so its norm is √(B·H) = √12.",
        diagnosis=why,
    )


@pytest.mark.parametrize("s", [0.5, 1.0, 1.5], ids=["vanishes", "preserved", "explodes"])
def test_orthogonal_weights_decay_and_growth(sub, device, s):
    """W_hh = s·Q (Q orthogonal), x = 0, h0 = 0: the states stay 0, so ‖∂L/∂outputs[t]‖ = 2·s^(T−1−t)"""
    steps, hidden = 10, 4
    x = torch.zeros(steps, 1, 3, dtype=F64)
    h0 = torch.zeros(1, hidden, dtype=F64)
    W_xh = randn(hidden, 3, seed=20, dtype=F64)
    W_hh = s * orthogonal_4()
    b_h = torch.zeros(hidden, dtype=F64)
    want = torch.tensor([2 * s ** (steps - 1 - t) for t in range(steps)], dtype=F64)
    got = sub.hidden_grad_norms(x, h0, W_xh, W_hh, b_h)
    check_close(
        got,
        want,
        what=f"hidden_grad_norms with W_hh = {s}·Q (Q orthogonal), x = 0, h0 = 0",
        kind="grad",
        inputs=describe(x=x, h0=h0, W_hh=W_hh),
        diagnosis=lazy(diagnose_norms, got, x, h0, W_xh, W_hh, b_h),
        device=device,
        hint=f"In the linear regime each step back multiplies the gradient by W_hhᵀ, of norm {s}: "
        f"the norms are 2·{s}^(T−1−t).",
    )


@pytest.mark.parametrize(
    "steps, batch, input_size, hidden_size, scale, seed",
    [(6, 2, 3, 4, 0.8, 30), (8, 3, 2, 5, 2.5, 31), (12, 1, 4, 3, 1.2, 32), (4, 5, 1, 1, 3.0, 33)],
    ids=["small_weights", "large_weights", "B1_long", "H1"],
)
def test_matches_torch_rnn(sub, device, steps, batch, input_size, hidden_size, scale, seed):
    """Random inputs and weights, float64, against torch.nn.RNN's gradients through every path"""
    args = rnn_case(steps, batch, input_size, hidden_size, seed=seed, scale=scale)
    run_norms(sub, args, device=device, seed=seed)


def test_large_weights_can_saturate(sub):
    """W_hh = 3·Q with large inputs: the states saturate (tanh' ≈ 0) and the early norms vanish anyway"""
    steps, hidden = 10, 4
    x = randn(steps, 2, 3, seed=40, dtype=F64, scale=2.0)
    h0 = torch.zeros(2, hidden, dtype=F64)
    W_xh = randn(hidden, 3, seed=41, dtype=F64)
    W_hh = 3.0 * orthogonal_4()
    b_h = torch.zeros(hidden, dtype=F64)
    got = run_norms(sub, (x, h0, W_xh, W_hh, b_h), device="cpu", seed=40)
    check(float(got[0]) < float(got[-1]), "with saturated states the first norm should be below the last one")


def test_float32(sub, device):
    """float32 inputs give a float32 result within float32 tolerance"""
    args = rnn_case(7, 2, 3, 4, seed=50, scale=1.5, dtype=torch.float32)
    run_norms(sub, args, device=device, seed=50)


def test_single_step(sub, device):
    """T = 1: the only entry is √(B·H)"""
    args = rnn_case(1, 2, 3, 2, seed=60)
    run_norms(sub, args, device=device, seed=60, what="hidden_grad_norms with T = 1")


def zero_steps_mistake(sub, x, *args):
    """Why the T = 0 call failed, when one with T = 1 works: the empty case, or ''."""
    try:
        sub.hidden_grad_norms(torch.zeros(1, *x.shape[1:], dtype=x.dtype), *args)
    except Exception:  # noqa: BLE001 - it fails for T = 1 too: not the empty case
        return ""
    return (
        "T = 0 is not handled: with no steps there is no L and nothing to stack (torch.stack([]) fails); "
        "return an empty tensor, x.new_empty(0)."
    )


def test_zero_steps_gives_empty(sub, device):
    """T = 0 -> an empty tensor of shape [0] in x's dtype and on x's device"""
    x = torch.zeros(0, 2, 3, dtype=F64)
    args = (randn(2, 4, seed=70, dtype=F64), randn(4, 3, seed=71, dtype=F64))
    args += (randn(4, 4, seed=72, dtype=F64), randn(4, seed=73, dtype=F64))
    with diagnosing(lazy(zero_steps_mistake, sub, x, *args)):
        got = sub.hidden_grad_norms(x, *args)
        check_close(
            got,
            torch.zeros(0, dtype=F64),
            what="hidden_grad_norms(x of shape [0, 2, 3], ...)",
            device=device,
            hint="T = 0 gives an empty tensor, x.new_empty(0).",
        )


def test_result_detached_and_inputs_unchanged(sub, device):
    """The result carries no autograd graph, and no input is modified in place"""
    args = rnn_case(5, 2, 3, 4, seed=80)
    got = sub.hidden_grad_norms(*args)
    check_unchanged_inputs(sub, ["x", "h0", "W_xh", "W_hh", "b_h"])
    meta = remote_meta(got)
    check(
        meta is None or not (meta.requires_grad or meta.has_grad_fn),
        "the result of hidden_grad_norms should be detached (it requires grad / has a grad_fn)",
        diagnosis="The result is still part of an autograd graph (create_graph=True, or norms of tensors that "
        "require grad): return plain numbers, detached.",
    )


def test_inputs_grad_untouched(sub, device):
    """Called on tensors that require grad, it leaves their .grad as it was (None): nothing accumulates"""
    args = rnn_case(5, 2, 3, 4, seed=90)
    result = sub.grad_call(sub.hidden_grad_norms, *args, wrt=[0, 1, 2, 3, 4], grad_outputs=(None,))
    names = ["x", "h0", "W_xh", "W_hh", "b_h"]
    touched = [names[i] for i in range(5) if result.input_grads.get(i) is not None]
    check(
        not touched,
        f"hidden_grad_norms(x, h0, W_xh, W_hh, b_h) with inputs that require grad changed the .grad of "
        f"{', '.join(touched)} (it should stay None)",
        diagnosis="backward() accumulates into the .grad of every leaf it reaches, the caller's inputs "
        "included: use torch.autograd.grad(L, outputs) (or work on detached copies).",
    )
    run_norms(sub, args, device=device, seed=90)


@settings(
    derandomize=True,
    max_examples=15,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
    report_multiple_bugs=False,
)
@given(
    steps=st.integers(1, 8),
    batch=st.integers(1, 3),
    input_size=st.integers(1, 4),
    hidden_size=st.integers(1, 5),
    scale=st.sampled_from([0.3, 1.0, 2.0, 4.0]),
    seed=st.integers(0, 10_000),
)
def test_random_sizes(sub, steps, batch, input_size, hidden_size, scale, seed):
    """Random sizes and weight scales against torch.nn.RNN"""
    args = rnn_case(steps, batch, input_size, hidden_size, seed=seed, scale=scale)
    run_norms(sub, args, device="cpu", seed=seed)


# ---------------------------------------------------------------- clip_grad_norm: the formula and its mistakes

EPS = 1e-6


def clip_variant(grads, max_norm, mistake=""):
    """(clipped float64 tensors, returned norm) by the formula, optionally with one typical mistake."""
    grads = [g.double() for g in grads]
    norms = [g.norm() for g in grads]
    total = float(sum(n**2 for n in norms) ** 0.5) if grads else 0.0
    if mistake == "sum_of_norms":
        total = float(sum(norms))
    if mistake == "each":
        out = [g * (max_norm / (float(n) + EPS)) if float(n) > max_norm else g for g, n in zip(grads, norms)]
        return out, total
    clip = total >= max_norm if mistake == "ge" else True if mistake == "always" else total > max_norm
    scale = (max_norm / total if mistake == "no_eps" else max_norm / (total + EPS)) if clip else 1.0
    out = [g * scale for g in grads]
    if mistake == "after":
        return out, float(sum(float(g.norm()) ** 2 for g in out) ** 0.5)
    return out, total


CLIP_MISTAKES = {
    "each": (
        "It matches clipping each tensor by its own norm: compute ONE global norm over all the tensors and "
        "scale them all by the same factor (that keeps the direction).",
        True,
    ),
    "after": ("It returns the norm after clipping: return the total norm measured before scaling.", False),
    "ge": ("A norm equal to max_norm is clipped: clip only when it is strictly greater (>, not >=).", True),
    "always": (
        "It scales even when the total norm is below max_norm (which enlarges small gradients): "
        "clip only when total_norm > max_norm.",
        True,
    ),
    "no_eps": ("It matches the factor max_norm / total_norm: divide by (total_norm + 1e-6).", True),
    "sum_of_norms": (
        "It matches the sum of the tensors' norms: the global norm is √(Σ over all tensors of the sum of squares).",
        False,
    ),
}


def _gap(right, wrong):
    """How far apart two answers are, relative to the right one's size (tensors lists or floats)."""
    if isinstance(right, float):
        return abs(right - wrong) / max(abs(right), 1e-30)
    if len(right) != len(wrong) or any(r.shape != w.shape for r, w in zip(right, wrong)):
        return 1.0
    size = max((float(r.abs().max()) for r in right if r.numel()), default=0.0)
    diff = max((float((r - w).abs().max()) for r, w in zip(right, wrong) if r.numel()), default=0.0)
    return diff / max(size, 1e-30)


def _matches(got, wrong, tol):
    """Whether the answer ``got`` equals the variant ``wrong`` within the relative tolerance ``tol``."""
    if isinstance(wrong, float):
        return isinstance(got, (int, float)) and abs(float(got) - wrong) <= tol * max(abs(wrong), 1e-30)
    return (
        isinstance(got, (list, tuple))
        and len(got) == len(wrong)
        and all(hasattr(g, "shape") and tuple(g.shape) == tuple(w.shape) for g, w in zip(got, wrong))
        and _gap(wrong, [g.double() for g in got]) <= tol
    )


def diagnose_clip(got, grads, max_norm):
    """The typical clipping mistake ``got`` = (tensors, norm) matches, or ''.

    A variant counts only where it differs from the right answer, and ``got`` must be ten times
    closer to it than that difference (the 1e-6 and >= variants differ by ~1e-7 only)."""
    if not (isinstance(got, (list, tuple)) and len(got) == 2):
        return ""
    got_list, got_norm = got
    if hasattr(got_norm, "shape") and got_norm.numel() == 1:
        got_norm = float(got_norm)
    right_list, right_norm = clip_variant(grads, max_norm)
    for name, (message, by_values) in CLIP_MISTAKES.items():
        wrong_list, wrong_norm = clip_variant(grads, max_norm, name)
        right, wrong, answer = (right_list, wrong_list, got_list) if by_values else (right_norm, wrong_norm, got_norm)
        gap = _gap(right, wrong)
        if gap > 1e-12 and _matches(answer, wrong, min(1e-3, gap / 10)):
            return message
    return ""


# (rtol, atol) for the clipped tensors: float64 allows a norm accumulated in float32
CLIP_TOLERANCE = {F64: (1e-6, 1e-12), torch.float32: (1.3e-6, 1e-7), torch.float16: (1e-3, 1e-3)}


def run_clip(sub, grads, max_norm, *, device, exact=False):
    """Call clip_grad_norm and check the result's form, the norm, then each tensor."""
    __tracebackhide__ = True
    shown = ", ".join(f"{str(g.dtype).removeprefix('torch.')}{list(g.shape)}" for g in grads)
    call = f"clip_grad_norm(grads=[{shown}], max_norm={max_norm})"
    got = sub.clip_grad_norm(grads, max_norm)
    check(
        isinstance(got, (tuple, list)) and len(got) == 2 and isinstance(got[0], (list, tuple)),
        f"{call} should return (list of tensors, float), got {describe_value(got)}",
    )
    tensors, norm = got
    why = lazy(diagnose_clip, (list(tensors), norm), grads, max_norm)
    check(
        isinstance(norm, float),
        f"{call}: the returned norm should be a Python float, got {describe_value(norm)}",
        diagnosis="The norm is returned as a tensor: return float(total_norm) (or .item())."
        if hasattr(norm, "shape")
        else "",
    )
    want_list, want_norm = clip_variant(grads, max_norm)
    check(
        math.isclose(norm, want_norm, rel_tol=1e-6, abs_tol=1e-12),
        f"{call}: the returned norm is {norm!r}, expected the global 2-norm before clipping, {want_norm:.9g}",
        diagnosis=why,
    )
    check(
        len(tensors) == len(grads),
        f"{call} returned {len(tensors)} tensors for {len(grads)} gradients",
    )
    for i, (g_in, g_out, want) in enumerate(zip(grads, tensors, want_list)):
        rtol, atol = (0.0, 0.0) if exact else CLIP_TOLERANCE.get(g_in.dtype, (1e-2, 1e-2))
        check_close(
            g_out,
            want.to(g_in.dtype),
            what=f"{call}: tensor {i}",
            rtol=rtol,
            atol=atol,
            inputs=f"global norm {want_norm:.6g}",
            diagnosis=why,
            device=device,
            hint="When total_norm > max_norm every tensor is multiplied by max_norm / (total_norm + 1e-6); "
            "otherwise they are returned unchanged (as new tensors).",
        )
    return tensors, norm


# ---------------------------------------------------------------- clip_grad_norm


@public
def test_clip_hand_example(sub):
    """[3] and [4] with max_norm = 1: the global norm is 5, both scaled by 1/(5 + 1e-6) -> [0.6], [0.8]"""
    grads = [torch.tensor([3.0], dtype=F64), torch.tensor([4.0], dtype=F64)]
    run_clip(sub, grads, 1.0, device="cpu")


def test_clip_global_norm_over_tensors_of_any_shape(sub, device):
    """A matrix, a vector and a 0-d tensor: one norm over all of them, each tensor keeps its shape"""
    grads = [randn(3, 4, seed=100, dtype=F64), randn(5, seed=101, dtype=F64), torch.tensor(2.5, dtype=F64)]
    run_clip(sub, grads, 2.0, device=device)


def test_clip_small_tensors_that_are_large_together(sub, device):
    """Each tensor's own norm is below max_norm, but the global norm is above: all of them are scaled"""
    grads = [
        torch.tensor([0.6, 0.8], dtype=F64),
        torch.tensor([[0.0, 0.9]], dtype=F64),
        torch.tensor([-0.7], dtype=F64),
    ]
    run_clip(sub, grads, 1.0, device=device)


def test_no_clipping_below_max_norm(sub, device):
    """Global norm 2.5 < max_norm = 4: the tensors come back unchanged and the norm is 2.5"""
    grads = [torch.tensor([1.5, 0.0], dtype=F64), torch.tensor([[2.0]], dtype=F64)]
    run_clip(sub, grads, 4.0, device=device, exact=True)


def test_no_clipping_at_exactly_max_norm(sub, device):
    """Global norm exactly 5 = max_norm: not strictly greater, so nothing is scaled (exact values)"""
    grads = [torch.tensor([3.0], dtype=F64), torch.tensor([4.0], dtype=F64)]
    run_clip(sub, grads, 5.0, device=device, exact=True)


def test_epsilon_in_the_denominator(sub, device):
    """Tiny gradients (norm 5e-6) with max_norm = 1e-6: the factor is 1e-6 / (5e-6 + 1e-6) = 1/6"""
    grads = [torch.tensor([3e-6, 4e-6], dtype=F64)]
    run_clip(sub, grads, 1e-6, device=device)


def test_max_norm_zero(sub, device):
    """max_norm = 0 is allowed: every tensor is scaled to zero, the norm returned is the original one"""
    grads = [randn(2, 3, seed=110, dtype=F64), randn(4, seed=111, dtype=F64)]
    run_clip(sub, grads, 0.0, device=device)


def test_clip_float32(sub, device):
    """float32 gradients stay float32"""
    grads = [randn(4, 4, seed=120), randn(7, seed=121)]
    run_clip(sub, grads, 1.5, device=device)


def test_mixed_dtypes(sub, device):
    """A float64, a float32 and a float16 tensor: one global norm, each returned in its own dtype"""
    grads = [randn(3, seed=130, dtype=F64), randn(2, 2, seed=131), randn(5, seed=132, dtype=torch.float16)]
    run_clip(sub, grads, 0.5, device=device)


def half_overflow(got_norm):
    if isinstance(got_norm, float) and math.isinf(got_norm):
        return (
            "The norm overflowed: float16 squares exceed 65504 from 256 up. Accumulate the sum of squares in at "
            "least float32 (g.float().pow(2).sum())."
        )
    return ""


def test_float16_norm_does_not_overflow(sub, device):
    """float16 gradients of magnitude 300 (squares 9e4 > float16's max): the norm is still finite and right"""
    grads = [torch.full((4,), 300.0, dtype=torch.float16), torch.full((2, 2), -400.0, dtype=torch.float16)]
    got = sub.clip_grad_norm(grads, 100.0)
    check(isinstance(got, (tuple, list)) and len(got) == 2, "clip_grad_norm should return (tensors, norm)")
    norm = got[1]
    norm = float(norm) if hasattr(norm, "shape") and norm.numel() == 1 else norm
    check(
        isinstance(norm, float) and math.isclose(norm, 1000.0, rel_tol=1e-5),
        f"clip_grad_norm(float16 [300]*4 and [-400]*4, max_norm=100): the norm should be 1000, got {norm!r}",
        diagnosis=lazy(half_overflow, norm),
    )
    for i, (g_in, g_out) in enumerate(zip(grads, got[0])):
        want = g_in.double() * (100.0 / (1000.0 + EPS))
        check_close(g_out, want.half(), what=f"the float16 tensor {i}", device=device)


def empty_list_mistake(sub):
    """Why the call on [] failed, when one on a single tensor works: the empty case, or ''."""
    try:
        sub.clip_grad_norm([torch.tensor([3.0, 4.0], dtype=F64)], 1.0)
    except Exception:  # noqa: BLE001 - it fails on a non-empty list too: not the empty case
        return ""
    return (
        "An empty list fails: there is nothing to stack (torch.stack([]) / torch.cat([]) raise, grads[0] does not "
        "exist). Return ([], 0.0) when grads is empty."
    )


def test_empty_list(sub):
    """clip_grad_norm([], 1.0) -> ([], 0.0)"""
    with diagnosing(lazy(empty_list_mistake, sub)):
        got = sub.clip_grad_norm([], 1.0)
    check(
        isinstance(got, (tuple, list)) and len(got) == 2 and list(got[0]) == [] and got[1] == 0.0,
        f"clip_grad_norm([], 1.0) should return ([], 0.0), got {describe_value(got)}",
    )
    check(isinstance(got[1], float), f"clip_grad_norm([], 1.0): the norm should be the float 0.0, got {got[1]!r}")


def test_inputs_unchanged(sub, device):
    """The inputs are never modified: clipping returns new tensors"""
    grads = [randn(3, 3, seed=140, dtype=F64, scale=3.0), randn(4, seed=141, dtype=F64, scale=3.0)]
    sub.clip_grad_norm(grads, 1.0)
    with diagnosing(
        "The gradients are clipped in place (g.mul_(scale)): return new tensors, g * scale, and leave the "
        "inputs unchanged."
    ):
        check_unchanged_inputs(sub, ["grads", "max_norm"])


def returns_normally(sub, grads, max_norm, diagnosis):
    """``diagnosis`` if clip_grad_norm(grads, max_norm) returns instead of raising (no check at all), else ''."""
    try:
        sub.clip_grad_norm(grads, max_norm)
    except Exception:  # noqa: BLE001 - it raised something else: not a missing check
        return ""
    return diagnosis


def test_invalid_max_norm_raises(sub):
    """max_norm < 0 or nan -> ValueError"""
    grads = [torch.tensor([3.0, 4.0], dtype=F64)]
    expect_raises(
        ValueError,
        sub.clip_grad_norm,
        grads,
        -1.0,
        call="clip_grad_norm([tensor([3., 4.])], max_norm=-1.0)",
        diagnosis=lazy(
            returns_normally, sub, grads, -1.0, "max_norm is not checked: raise ValueError when max_norm < 0 or is nan."
        ),
    )
    expect_raises(
        ValueError,
        sub.clip_grad_norm,
        grads,
        float("nan"),
        call="clip_grad_norm([tensor([3., 4.])], max_norm=nan)",
        diagnosis=lazy(
            returns_normally,
            sub,
            grads,
            float("nan"),
            "nan is not caught: every comparison with nan is False, so `max_norm < 0` lets it through; "
            "check math.isnan(max_norm) too.",
        ),
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
    shapes=st.lists(st.lists(st.integers(1, 4), min_size=0, max_size=2), min_size=1, max_size=4),
    max_norm=st.sampled_from([0.1, 1.0, 3.0, 100.0]),
    seed=st.integers(0, 10_000),
)
def test_random_gradient_lists(sub, shapes, max_norm, seed):
    """Random lists of tensors and thresholds against the formula in float64"""
    grads = [randn(*shape, 1, seed=seed + i, dtype=F64).reshape(shape) for i, shape in enumerate(shapes)]
    run_clip(sub, grads, max_norm, device="cpu")
