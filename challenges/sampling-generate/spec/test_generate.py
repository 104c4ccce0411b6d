"""Specs for generate, driving the trusted ToyLM fixture (logits from the last two tokens):
the exact greedy output of a batch (temperature 0, and top_k = 1), the number and shapes of
model calls, eos padding and early stopping, the distribution of the first two generated
tokens over 20,000 rows (chi-square, fixed seeds), reproducibility, the global RNG, errors
and hygiene. Sampled ids are never compared with a reference's draws."""

import functools
import math

import pytest
import torch

from grader.fixtures.toy_lm import ToyLM
from grader.spec import (
    Mistake,
    check,
    check_close,
    check_unchanged_inputs,
    describe_value,
    expect_raises,
    fail,
    public,
    remote_meta,
)

INF = float("inf")
P_MIN = 1e-6


# ---------------------------------------------------------------- oracles (plain Python)


def last_logits(lm, rows):
    """The model's last-position logits for each sequence in ``rows`` (lists of ids)."""
    with torch.no_grad():
        return lm(torch.tensor(rows))[:, -1].double().tolist()


def greedy(V, seed, scale, prompt, n, eos=None):
    """Greedy generate, row by row logic in Python: (ids as lists, number of steps)."""
    lm = ToyLM(V, seed=seed, scale=scale)
    rows = prompt.tolist()
    done = [False] * len(rows)
    steps = 0
    for _ in range(n):
        nxt = [row.index(max(row)) for row in last_logits(lm, rows)]
        for b in range(len(rows)):
            token = eos if done[b] else nxt[b]
            rows[b].append(token)
            done[b] = done[b] or (eos is not None and token == eos)
        steps += 1
        if eos is not None and all(done):
            break
    return rows, steps


def _softmax(z):
    top = max(z)
    w = [math.exp(v - top) if v != -INF else 0.0 for v in z]
    total = sum(w)
    return [v / total for v in w]


def next_probs(row, temperature, top_k, top_p):
    """(distribution, top-p margin) of sample_next for one row of logits."""
    z = [v / temperature for v in row]
    if top_k is not None and top_k < len(z):
        kth = sorted(z, reverse=True)[top_k - 1]
        z = [v if v >= kth else -INF for v in z]
    margin = INF
    if top_p is not None and top_p < 1.0:
        probs = _softmax(z)
        keep, cum = [False] * len(z), 0.0
        for i in sorted(range(len(z)), key=lambda i: -probs[i]):
            keep[i] = cum < top_p
            cum += probs[i]
            margin = min(margin, abs(cum - top_p))
        z = [v if kept else -INF for v, kept in zip(z, keep)]
    return _softmax(z), margin


def joint_two(lm, prompt_row, kw):
    """P(first, second generated token) as a V x V list, and the smallest top-p margin."""
    p1, margin = next_probs(last_logits(lm, [prompt_row])[0], **kw)
    V = len(p1)
    joint = [[0.0] * V for _ in range(V)]
    for a in range(V):
        if p1[a] > 0:
            p2, m2 = next_probs(last_logits(lm, [prompt_row + [a]])[0], **kw)
            margin = min(margin, m2)
            for b in range(V):
                joint[a][b] = p1[a] * p2[b]
    return joint, margin


TWO_STEP_KW = dict(temperature=0.8, top_k=4, top_p=0.85)
TWO_STEP_V, TWO_STEP_PROMPT, TWO_STEP_SCALE = 6, [1, 4, 2], 1.5


@functools.cache
def two_step_fixture():
    """A ToyLM seed whose two-step joint distribution is safe for a chi-square test: every
    allowed pair has probability >= 0.003, top-p stays 1e-4 away from its boundary, and both
    filters remove tokens."""
    for seed in range(500):
        lm = ToyLM(TWO_STEP_V, seed=seed, scale=TWO_STEP_SCALE)
        joint, margin = joint_two(lm, TWO_STEP_PROMPT, TWO_STEP_KW)
        cells = [q for row in joint for q in row if q > 0]
        first = [sum(row) for row in joint]
        if margin > 1e-3 and min(cells) >= 0.003 and 1 < sum(q > 0 for q in first) < 4 and len(cells) >= 6:
            return seed, joint
    raise RuntimeError("no safe two-step fixture")


# ---------------------------------------------------------------- helpers


def run(sub, V, seed, prompt, n, scale=3.0, **kw):
    lm = sub.make_fixture("ToyLM", V, seed=seed, scale=scale)
    return lm, sub.generate(lm, prompt, n, **kw)


def check_out(out, shape, device, what, T=None):
    """Type, dtype, rows, columns (``shape[1]``, None: any) and device of generate's result;
    ``T``, the prompt's length, recognises a result without the prompt."""
    __tracebackhide__ = True
    check(hasattr(out, "detach"), f"{what}: generate should return a torch tensor, got {describe_value(out)}")
    check(out.dtype == torch.int64, f"{what}: the result should be int64, got {out.dtype}")
    check(out.dim() == 2, f"{what}: the result should be [B, T + n], got shape {list(out.shape)}")
    check(out.shape[0] == shape[0], f"{what}: expected {shape[0]} rows, got {out.shape[0]}")
    if shape[1] is not None:
        no_prompt = T is not None and out.shape[1] == shape[1] - T
        check(
            out.shape[1] == shape[1],
            f"{what}: expected {shape[1]} columns (prompt + generated), got {out.shape[1]}"
            + (
                ""
                if no_prompt
                else ": stop after max_new_tokens, or right after the step where the last row emits eos_id"
            ),
            diagnosis="the prompt is not part of the returned sequence: return the prompt followed by the "
            "generated columns."
            if no_prompt
            else "",
        )
    if device is not None:
        meta = remote_meta(out)
        where = meta.device if meta is not None else "cpu"
        check(where.startswith(device), f"{what}: the result is on {where}, but the prompt was on {device}")


def check_calls(lm, steps, B, T, what):
    __tracebackhide__ = True
    calls = lm.calls
    check(
        calls == steps,
        f"{what}: the model was called {calls} times for {steps} generation steps; call it exactly once per step",
        diagnosis=f"the model is called twice per step ({calls} calls for {steps} steps): call it once per step "
        "and take both the logits and the next token from that call."
        if steps > 0 and calls == 2 * steps
        else "",
    )
    shapes = [tuple(s) for s in lm.seen_shapes]
    last_only = len(shapes) > 1 and all(shape == (B, 1) for shape in shapes)
    for i, shape in enumerate(shapes):
        check(
            shape == (B, T + i),
            f"{what}: model call {i} saw ids of shape {list(shape)}, expected {[B, T + i]}: feed the whole "
            "batch and the whole sequence so far",
            diagnosis="the model sees only the last token at each step: call it on the whole sequence so far "
            "(prompt + generated ids), it has no cache."
            if last_only
            else "",
        )


def prompt_of(B, T, V, seed):
    return torch.randint(0, V, (B, T), generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- greedy: exact


@public
def test_greedy_batch(sub, device):
    """temperature 0: the exact greedy batch output."""
    prompt = prompt_of(3, 4, 10, 0)
    lm, out = run(sub, 10, 0, prompt, 6, temperature=0.0)
    exp, steps = greedy(10, 0, 3.0, prompt, 6)
    what = "generate(ToyLM(V=10), prompt [3, 4], 6, temperature=0)"
    check_out(out, (3, 10), device, what, T=4)
    check_calls(lm, 6, 3, 4, what)
    check_close(
        out,
        torch.tensor(exp),
        what=what,
        device=device,
        hint="Each step appends the argmax of model(ids)[:, -1] for every row.",
    )


@pytest.mark.parametrize("V,seed,B,T,n", [(7, 1, 1, 1, 8), (20, 2, 4, 3, 5), (13, 3, 2, 6, 1), (9, 4, 5, 2, 10)])
def test_greedy_hidden(sub, device, V, seed, B, T, n):
    """More greedy batches (V, B, T, n vary)."""
    prompt = prompt_of(B, T, V, seed)
    lm, out = run(sub, V, seed, prompt, n, temperature=0.0)
    exp, steps = greedy(V, seed, 3.0, prompt, n)
    what = f"generate greedy, V={V}, prompt [{B}, {T}], n={n}"
    check_out(out, (B, T + n), device, what, T=T)
    check_calls(lm, n, B, T, what)
    check_close(out, torch.tensor(exp), what=what, device=device)


def test_top_k_one_is_greedy(sub, device):
    """temperature 1 with top_k=1 reproduces greedy."""
    prompt = prompt_of(4, 2, 12, 5)
    lm, out = run(sub, 12, 5, prompt, 7, top_k=1, generator=sub.generator(3))
    exp, _ = greedy(12, 5, 3.0, prompt, 7)
    what = "generate(..., temperature=1.0, top_k=1)"
    check_out(out, (4, 9), device, what, T=2)
    check_calls(lm, 7, 4, 2, what)
    check_close(out, torch.tensor(exp), what=what, device=device, hint="top_k=1 keeps only the argmax (no ties here).")


def test_zero_new_tokens(sub, device):
    """max_new_tokens = 0 returns the prompt, no calls."""
    prompt = torch.tensor([[4, 0, 2], [1, 1, 5]])
    lm, out = run(sub, 6, 0, prompt, 0)
    check_out(out, (2, 3), device, "max_new_tokens=0")
    check_close(out, prompt, what="generate(..., max_new_tokens=0)", device=device)
    check(lm.calls == 0, f"max_new_tokens=0 should not call the model (it was called {lm.calls} times)")


# ---------------------------------------------------------------- eos


@functools.cache
def eos_fixture():
    """(seed, prompt, eos, steps): greedy rows that emit eos at different steps, all before 12."""
    V, n = 9, 12
    for seed in range(200):
        prompt = prompt_of(3, 2, V, 100 + seed)
        rows, _ = greedy(V, seed, 3.0, prompt, n)
        gen = [row[2:] for row in rows]
        for eos in range(V):
            if any(eos in row.tolist() for row in prompt):
                continue
            firsts = [g.index(eos) if eos in g else None for g in gen]
            if None not in firsts and len(set(firsts)) == 3 and max(firsts) < n - 3 and min(firsts) >= 1:
                return seed, prompt, eos, max(firsts) + 1
    raise RuntimeError("no eos fixture")


@public
def test_eos_padding_and_early_stop(sub, device):
    """Finished rows repeat eos; stop when all finish."""
    seed, prompt, eos, steps = eos_fixture()
    lm, out = run(sub, 9, seed, prompt, 12, temperature=0.0, eos_id=eos)
    exp, exp_steps = greedy(9, seed, 3.0, prompt, 12, eos)
    assert exp_steps == steps
    what = f"generate greedy with eos_id={eos}, prompt [3, 2], max_new_tokens=12 (rows emit eos at different steps)"
    check_out(out, (3, None), device, what)
    got = out.tolist()
    firsts = [exp[b].index(eos, 2) - 2 for b in range(3)]  # the step at which each row emits eos
    for b in range(3):
        first = firsts[b] + 2
        tail = got[b][first + 1 :]
        check(
            got[b][: first + 1] != exp[b][: first + 1] or all(t == eos for t in tail),
            f"{what}: row {b} emitted eos_id at step {first - 2} but was not padded with eos_id afterwards",
            diagnosis="finished rows keep sampling: once a row has emitted eos_id, its new tokens must be eos_id.",
        )
    cols = out.shape[1]
    if cols == 2 + min(firsts) + 1:
        diagnosis = "generation stops as soon as one row emits eos_id: continue until every row has finished."
    elif cols == 2 + 12 and cols != 2 + steps:
        diagnosis = "generation does not stop early: once every row has emitted eos_id, stop right after that step."
    else:
        diagnosis = ""
    check(
        cols == 2 + steps,
        f"{what}: expected {2 + steps} columns (prompt + generated), got {cols}: stop after max_new_tokens, "
        "or right after the step where the last row emits eos_id",
        diagnosis=diagnosis,
    )
    check_calls(lm, steps, 3, 2, what)
    check_close(out, torch.tensor(exp), what=what, device=device)


def test_eos_some_rows_never_finish(sub, device):
    """Runs to max_new_tokens when a row never ends."""
    V, seed, n = 9, 6, 10
    prompt = prompt_of(3, 2, V, 7)
    rows, _ = greedy(V, seed, 3.0, prompt, n)
    gen = [row[2:] for row in rows]
    eos = next(e for e in range(V) if any(e in g[:-2] for g in gen) and not all(e in g for g in gen))
    lm, out = run(sub, V, seed, prompt, n, temperature=0.0, eos_id=eos)
    exp, steps = greedy(V, seed, 3.0, prompt, n, eos)
    assert steps == n
    what = f"generate greedy with eos_id={eos}, n={n}, where some rows never emit eos"
    check_out(out, (3, 2 + n), device, what, T=2)
    check_close(out, torch.tensor(exp), what=what, device=device, hint="Finished rows continue with eos_id.")
    check_calls(lm, n, 3, 2, what)


def test_eos_in_prompt_does_not_finish(sub, device):
    """An eos inside the prompt does not end a row."""
    V, seed, n = 8, 2, 5
    prompt = torch.tensor([[3, 1], [1, 4]])
    rows, _ = greedy(V, seed, 3.0, prompt, n)
    eos = next(e for e in (1, 3, 4) if all(e not in row[2:] for row in rows))
    lm, out = run(sub, V, seed, prompt, n, temperature=0.0, eos_id=eos)
    what = f"generate greedy with eos_id={eos} present in the prompt but never generated"
    check_out(out, (2, 2 + n), device, what, T=2)
    check_close(
        out,
        torch.tensor(rows),
        what=what,
        device=device,
        hint="Only generated tokens finish a row; an eos_id inside the prompt does not.",
    )


def test_sampled_eos_rows_stay_finished(sub, device):
    """Sampling: after eos only eos; stop when all end."""
    V, B, T, n, eos = 5, 64, 2, 40, 2
    prompt = prompt_of(B, T, V, 9)
    lm, out = run(sub, V, 11, prompt, n, scale=0.5, eos_id=eos, generator=sub.generator(4))
    what = f"generate(ToyLM(V={V}, scale=0.5), prompt [{B}, {T}], {n}, eos_id={eos}) sampling at temperature 1"
    check_out(out, (B, None), device, what)
    steps = out.shape[1] - T
    check(0 <= steps <= n, f"{what}: generated {steps} columns, expected between 0 and {n}")
    gen = out[:, T:].tolist()
    firsts = []
    for b, row in enumerate(gen):
        if eos in row:
            first = row.index(eos)
            check(
                all(t == eos for t in row[first:]),
                f"{what}: row {b} emitted eos_id at step {first} but later holds other ids; a finished row "
                "continues with eos_id",
            )
            firsts.append(first + 1)
        else:
            firsts.append(INF)
    want = min(n, max(firsts))
    check(
        steps == want,
        f"{what}: generated {steps} steps, but {'every row had finished after ' + str(want) if want < n else 'some row never finished, so ' + str(n)}"
        f" steps were expected: stop right after the step where the last row finishes",
    )
    check_calls(lm, steps, B, T, what)
    check_unchanged_inputs(sub, ["model", "prompt"])


# ---------------------------------------------------------------- sampling: distribution


def test_first_two_tokens_distribution(sub, device):
    """20,000 rows: joint law of the first two tokens."""
    seed, joint = two_step_fixture()
    V, rows = TWO_STEP_V, 20_000
    prompt = torch.tensor([TWO_STEP_PROMPT] * rows)
    lm, out = run(sub, V, seed, prompt, 2, scale=TWO_STEP_SCALE, generator=sub.generator(21), **TWO_STEP_KW)
    what = f"generate(ToyLM(V={V}), prompt [{rows}, 3] (one row repeated), 2, {TWO_STEP_KW})"
    check_out(out, (rows, 5), device, what)
    check_calls(lm, 2, rows, 3, what)
    pairs = out[:, 3:]
    check(bool(((pairs >= 0) & (pairs < V)).all()), f"{what}: generated ids outside [0, {V})")
    counts = torch.bincount(pairs[:, 0] * V + pairs[:, 1], minlength=V * V).tolist()
    probs = [q for row in joint for q in row]
    for c, q, cell in zip(counts, probs, range(V * V)):
        a, b = divmod(cell, V)
        if c > 0 and q == 0:
            fail(
                f"{what}: the pair (first={a}, second={b}) appeared {c} times but has probability 0 after the "
                "filters: apply temperature, then top-k, then top-p at every step, and condition the second "
                "step on the whole sequence (prompt + first token)."
            )
        if c == 0 and q > 0:
            fail(f"{what}: the pair (first={a}, second={b}) never appeared but has probability {q:.3f}.")
    support = [i for i, q in enumerate(probs) if q > 0]
    stat = sum((counts[i] - rows * probs[i]) ** 2 / (rows * probs[i]) for i in support)
    df = torch.tensor((len(support) - 1) / 2, dtype=torch.float64)
    pv = float(torch.special.gammaincc(df, torch.tensor(stat / 2, dtype=torch.float64)))
    check(
        pv >= P_MIN,
        f"{what}: the joint distribution of the first two generated tokens does not match sample_next's "
        f"(chi-square p-value {pv:.2e} < {P_MIN:g}): each step samples from model(ids)[:, -1] with the same "
        "temperature, top_k and top_p.",
    )


# ---------------------------------------------------------------- the generator


def test_same_seed_same_output(sub, device):
    """Same generator seed -> same output."""
    prompt = prompt_of(8, 3, 10, 12)
    kw = dict(temperature=1.1, top_k=6, top_p=0.9)
    before = sub.rng_digest()
    _, a = run(sub, 10, 13, prompt, 10, scale=1.0, generator=sub.generator(77), **kw)
    global_used = sub.rng_digest() != before
    _, b = run(sub, 10, 13, prompt, 10, scale=1.0, generator=sub.generator(77), **kw)
    check_out(a, (8, 13), device, "generate with a seeded generator")
    check(
        torch.equal(a, b),
        "generate(ToyLM(V=10), prompt [8, 3], 10, temperature=1.1, top_k=6, top_p=0.9, generator=g) twice, with "
        "g seeded 77 both times: the outputs differ.",
        diagnosis="the draws come from torch's global RNG, not from `generator`: pass `generator` on to "
        "sample_next and to torch.multinomial."
        if global_used
        else "",
    )


def test_global_rng_untouched(sub, device):
    """A generator run leaves the global RNG alone."""
    prompt = prompt_of(4, 2, 10, 14)
    lm = sub.make_fixture("ToyLM", 10, seed=15, scale=1.0)
    before = sub.rng_digest()
    sub.generate(lm, prompt, 6, temperature=0.9, top_k=5, top_p=0.95, generator=sub.generator(8))
    check(
        sub.rng_digest() == before,
        "generate(ToyLM(V=10), prompt [4, 2], 6, temperature=0.9, top_k=5, top_p=0.95, generator=g) changed the "
        "global RNG state.",
        diagnosis="the draws come from torch's global RNG, not from `generator`: pass `generator` to every draw.",
    )


# ---------------------------------------------------------------- errors and hygiene


@pytest.mark.parametrize(
    "n, kw",
    [(-1, {}), (3, dict(temperature=-0.5)), (3, dict(top_k=0)), (3, dict(top_p=1.5)), (3, dict(top_p=0.0))],
    ids=["n=-1", "temperature=-0.5", "top_k=0", "top_p=1.5", "top_p=0"],
)
def test_invalid_arguments_raise(sub, n, kw):
    """Invalid arguments: ValueError."""
    lm = sub.make_fixture("ToyLM", 5, seed=0)
    args = ", ".join(f"{k}={v}" for k, v in kw.items())
    name, value = next(iter(kw.items())) if kw else ("max_new_tokens", n)
    try:
        expect_raises(
            ValueError,
            sub.generate,
            lm,
            torch.tensor([[1, 2]]),
            n,
            call=f"generate(ToyLM(V=5), torch.tensor([[1, 2]]), {n}{', ' + args if args else ''})",
            **kw,
        )
    except Mistake as missing:
        fail(str(missing), diagnosis=f"{name}={value} is not rejected: generate must validate its arguments too.")


def test_prompt_unchanged_no_graph(sub, device):
    """Prompt not modified; no autograd graph."""
    prompt = prompt_of(2, 3, 8, 16)
    lm, out = run(sub, 8, 17, prompt, 4, generator=sub.generator(2))
    check_unchanged_inputs(sub, ["model", "prompt"])
    what = "generate(ToyLM(V=8), prompt [2, 3], 4, generator=g)"
    check_out(out, (2, 7), device, what, T=3)
    check(
        out[:, :3].tolist() == prompt.tolist(),
        f"{what}: the first 3 columns of the result should be the prompt, but they differ from it",
    )
    meta = remote_meta(out)
    check(
        meta is None or not (meta.has_grad_fn or meta.requires_grad),
        f"{what}: the result should carry no autograd graph (it has a grad_fn or requires grad)",
    )
    check(
        not any(lm.grad_modes),
        "the model was called with autograd recording on: generation needs no graph",
        diagnosis="generate runs without torch.no_grad(): wrap the loop in it (or decorate the function).",
    )
