import pytest
import torch

from grader.fixtures.toy_lm import ToyLM
from grader.spec import check, describe_value, diagnosing, expect_raises, lazy, public, remote_meta


def expected(V, seed, prompt, n, eos=None, scale=3.0, *, pick="last", feed="all", ties="lowest", stop="generated"):
    """The ids greedy decoding returns, or (with the keyword options) what a typical
    mistake returns: pick the argmax at the 'first' position or over the 'positions',
    feed only the 'last' token, break ties to the 'highest' id, or stop when eos is
    'anywhere' in the sequence, the prompt included."""
    lm = ToyLM(V, seed=seed, scale=scale)
    ids = prompt.tolist()
    with torch.no_grad():
        for _ in range(n):
            logits = lm(torch.tensor([ids if feed == "all" else ids[-1:]]))[0]  # (t, V)
            if pick == "positions":
                nxt = int(torch.argmax(logits, dim=0)[-1])
            else:
                row = logits[0 if pick == "first" else -1].tolist()
                best = max(row)
                nxt = len(row) - 1 - row[::-1].index(best) if ties == "highest" else row.index(best)
            ids.append(nxt)
            if eos is not None and (nxt == eos or (stop == "anywhere" and eos in ids)):
                break
    return ids


def diagnose(out, V, seed, prompt, n, eos=None, scale=3.0):
    """The typical mistake whose ids ``out`` matches, in the learner's words, or ''."""
    if not isinstance(out, torch.Tensor):
        return ""
    got, T = out.tolist(), len(prompt)
    right = expected(V, seed, prompt, n, eos, scale)
    if got == right[T:] and T:
        return (
            f"the prompt is missing: return the prompt followed by the generated ids "
            f"(here the {T} prompt ids, then {len(right) - T} generated)"
        )
    if (
        eos is not None
        and got == expected(V, seed, prompt, n, eos, scale, stop="anywhere")
        and eos in prompt.tolist()
        and got != right
    ):
        return "it stops at an eos_id that is in the prompt: only a generated eos_id stops the decoding"
    if eos is not None and got == right[:-1] and right[-1] == eos:
        return "eos_id is dropped: generation stops after emitting eos_id, and the eos token is kept in the output"
    if eos is not None and got == expected(V, seed, prompt, n, scale=scale) and got != right:
        zero = " eos_id = 0 is falsy: test `eos_id is not None`, not `if eos_id`." if eos == 0 else ""
        return f"the decoding ran on past eos_id={eos}: stop right after emitting it.{zero}"
    if n >= 1 and got == expected(V, seed, prompt, n - 1, eos, scale):
        return "one token too few: generate max_new_tokens tokens (range(max_new_tokens), not max_new_tokens - 1)"
    mistakes = [
        (
            dict(ties="highest"),
            "ties go to the highest id: on a tie take the lowest id (torch.argmax returns the first)",
        ),
        (dict(pick="first"), "the ids match the argmax of the first position's logits: use the last, logits[0, -1]"),
        (dict(feed="last"), "the ids match feeding the model only the last token: feed the whole sequence so far"),
        (dict(pick="positions"), "the ids match an argmax over the positions (dim 0): take it over the vocabulary"),
    ]
    for options, words in mistakes:
        if got == expected(V, seed, prompt, n, eos, scale, **options) and got != right:
            return words
    return ""


def run(sub, V, seed, prompt, n, eos=None, scale=3.0):
    lm = sub.make_fixture("ToyLM", V, seed=seed, scale=scale)
    out = sub.greedy_decode(lm, prompt, n, eos) if eos is not None else sub.greedy_decode(lm, prompt, n)
    return lm, out


def check_seq(out, case, what):
    """``out`` must be the ids greedy decoding returns for ``case`` (V, seed, prompt, n[, eos, scale])."""
    V, seed, prompt, n, *rest = case
    exp, T = expected(*case), len(prompt)
    diagnosis = lazy(diagnose, out, *case)
    check(
        isinstance(out, torch.Tensor),
        f"{what}: greedy_decode should return a 1-D int64 torch.Tensor, but it returned {describe_value(out)}",
        diagnosis="it returns a list: return a tensor (torch.tensor(ids) or torch.cat)"
        if isinstance(out, list)
        else "",
    )
    check(out.dtype == torch.int64, f"{what}: dtype should be int64, got {out.dtype}")
    check(out.dim() == 1, f"{what}: result should be 1-D, got shape {tuple(out.shape)}")
    check(
        len(out) == len(exp),
        f"{what}: expected {len(exp)} ids (the {T} of the prompt, then {len(exp) - T} generated), got {len(out)}",
        diagnosis=diagnosis,
    )
    got = out.tolist()
    check(got[:T] == prompt.tolist(), f"{what}: the result should start with the prompt", diagnosis=diagnosis)
    first = next((i for i, (a, b) in enumerate(zip(got, exp)) if a != b), None)
    check(
        first is None,
        f"{what}: generated id {None if first is None else first - T} (position {first}) differs from greedy decoding's",
        diagnosis=diagnosis,
    )


def check_calls(lm, n):
    calls = lm.calls
    check(
        calls == n,
        f"the model should be called once per generated token ({n}), was called {calls} times",
        diagnosis="the model is called twice per generated token: call it once and take the last position's logits"
        if calls == 2 * n and n
        else "",
    )


@public
def test_basic(sub):
    prompt = torch.tensor([1, 2, 3])
    lm, out = run(sub, 10, 0, prompt, 5)
    check_seq(out, (10, 0, prompt, 5), "V=10, seed=0, prompt=[1,2,3], n=5")
    check_calls(lm, 5)


@pytest.mark.parametrize(
    "V,seed,T,n",
    [(7, 1, 1, 8), (20, 2, 4, 12), (50, 3, 6, 10), (5, 4, 2, 20), (13, 5, 3, 1), (30, 6, 5, 7), (8, 7, 1, 15)],
)
def test_hidden(sub, V, seed, T, n):
    prompt = torch.randint(0, V, (T,), generator=torch.Generator().manual_seed(seed))
    lm, out = run(sub, V, seed, prompt, n)
    check_seq(out, (V, seed, prompt, n), f"hidden case V={V}, T={T}, n={n}")
    check_calls(lm, n)
    shapes = [tuple(s) for s in lm.seen_shapes]
    check(shapes[0] == (1, T), f"first model call should see the whole prompt as [1, T], saw {shapes[0]}")


@public
def test_zero_new_tokens(sub):
    prompt = torch.tensor([4, 0, 2])
    lm, out = run(sub, 6, 0, prompt, 0)
    check_seq(out, (6, 0, prompt, 0), "max_new_tokens=0")
    check(lm.calls == 0, "max_new_tokens=0 should not call the model")


def test_negative(sub):
    lm = sub.make_fixture("ToyLM", 5, seed=0)
    with diagnosing("a negative max_new_tokens is accepted: raise ValueError for max_new_tokens < 0"):
        expect_raises(
            ValueError, sub.greedy_decode, lm, torch.tensor([1]), -1, call="greedy_decode(model, tensor([1]), -1)"
        )


def _find_eos_case():
    for seed in range(50):
        prompt = torch.tensor([seed % 9])
        seq = expected(9, seed, prompt, 12)
        gen = seq[1:]
        for k in range(1, 6):
            if gen[k] not in gen[:k] and gen[k] not in prompt.tolist():
                return seed, prompt, gen[k], k + 1
    raise RuntimeError


@public
def test_eos_stops_and_is_kept(sub):
    seed, prompt, eos, stop = _find_eos_case()
    lm, out = run(sub, 9, seed, prompt, 12, eos)
    exp = expected(9, seed, prompt, 12, eos)
    assert len(exp) == 1 + stop
    check_seq(
        out, (9, seed, prompt, 12, eos), f"eos_id={eos}: generation should stop right after emitting eos_id, keeping it"
    )
    check(lm.calls == stop, f"model called {lm.calls} times, expected {stop} (one per generated token)")


def test_eos_in_the_prompt_does_not_stop(sub):
    prompt = torch.tensor([3, 1])
    lm, out = run(sub, 11, 7, prompt, 6, 3)
    check_seq(out, (11, 7, prompt, 6, 3), "eos_id=3 is in the prompt: only a generated eos_id stops the decoding")


def test_eos_never_emitted(sub):
    prompt = torch.tensor([3, 1])
    seq = expected(11, 7, prompt, 9)
    eos = next(i for i in range(11) if i not in seq[2:])
    lm, out = run(sub, 11, 7, prompt, 9, eos)
    check_seq(out, (11, 7, prompt, 9, eos), f"eos_id={eos} never emitted: should run to max_new_tokens")


def test_ties_lowest_id(sub):
    prompt = torch.tensor([3, 2])
    lm, out = run(sub, 6, 0, prompt, 4, scale=0.0)
    check_seq(out, (6, 0, prompt, 4, None, 0.0), "all logits tie: ties must go to the lowest id")


def test_eos_first_token_tie(sub):
    prompt = torch.tensor([5])
    lm, out = run(sub, 6, 0, prompt, 4, 0, scale=0.0)
    check_seq(out, (6, 0, prompt, 4, 0, 0.0), "eos_id=0 emitted first (all logits tie)")


def test_no_graph_and_prompt_untouched(sub):
    prompt = torch.tensor([1, 2])
    lm, out = run(sub, 8, 3, prompt, 4)
    no_grad = "the loop runs with autograd recording: wrap it in torch.no_grad() (or decorate the function)"
    meta = remote_meta(out)
    check(meta is None or not meta.has_grad_fn, "the result should carry no autograd graph", diagnosis=no_grad)
    check(
        not any(lm.grad_modes),
        "the model was called with autograd recording: decoding needs no graph",
        diagnosis=no_grad,
    )
    check(not any(m == "prompt" or m == 1 for m in sub.last_call.mutated), "the prompt must not be modified in place")
