import pytest
import torch

from grader.fixtures.toy_lm import ToyLM
from grader.spec import check, public, remote_meta


def expected(V, seed, prompt, n, eos=None, scale=3.0):
    lm = ToyLM(V, seed=seed, scale=scale)
    ids = prompt.tolist()
    with torch.no_grad():
        for _ in range(n):
            row = lm(torch.tensor([ids]))[0, -1].tolist()
            nxt = row.index(max(row))
            ids.append(nxt)
            if eos is not None and nxt == eos:
                break
    return ids


def run(sub, V, seed, prompt, n, eos=None, scale=3.0):
    lm = sub.make_fixture("ToyLM", V, seed=seed, scale=scale)
    out = sub.greedy_decode(lm, prompt, n, eos) if eos is not None else sub.greedy_decode(lm, prompt, n)
    return lm, out


def check_seq(out, exp, what):
    check(isinstance(out, torch.Tensor), f"{what}: expected a torch.Tensor")
    check(out.dtype == torch.int64, f"{what}: dtype should be int64, got {out.dtype}")
    check(out.dim() == 1, f"{what}: result should be 1-D, got shape {tuple(out.shape)}")
    check(len(out) == len(exp), f"{what}: expected length {len(exp)}, got {len(out)} (off by one? eos kept?)")
    check(out.tolist() == exp, f"{what}: generated ids differ from greedy (argmax of the LAST position's logits)")


@public
def test_basic(sub):
    prompt = torch.tensor([1, 2, 3])
    lm, out = run(sub, 10, 0, prompt, 5)
    check_seq(out, expected(10, 0, prompt, 5), "V=10, seed=0, prompt=[1,2,3], n=5")
    check(lm.calls == 5, f"the model should be called once per generated token (5), was called {lm.calls} times")


@pytest.mark.parametrize(
    "V,seed,T,n",
    [(7, 1, 1, 8), (20, 2, 4, 12), (50, 3, 6, 10), (5, 4, 2, 20), (13, 5, 3, 1), (30, 6, 5, 7), (8, 7, 1, 15)],
)
def test_hidden(sub, V, seed, T, n):
    prompt = torch.randint(0, V, (T,), generator=torch.Generator().manual_seed(seed))
    lm, out = run(sub, V, seed, prompt, n)
    check_seq(out, expected(V, seed, prompt, n), f"hidden case V={V}, T={T}, n={n}")
    check(lm.calls == n, f"model called {lm.calls} times for {n} generated tokens (expected exactly {n})")
    shapes = [tuple(s) for s in lm.seen_shapes]
    check(shapes[0] == (1, T), f"first model call should see the whole prompt as [1, T], saw {shapes[0]}")


@public
def test_zero_new_tokens(sub):
    prompt = torch.tensor([4, 0, 2])
    lm, out = run(sub, 6, 0, prompt, 0)
    check_seq(out, [4, 0, 2], "max_new_tokens=0")
    check(lm.calls == 0, "max_new_tokens=0 should not call the model")


def test_negative(sub):
    lm = sub.make_fixture("ToyLM", 5, seed=0)
    with pytest.raises(ValueError):
        sub.greedy_decode(lm, torch.tensor([1]), -1)


def _find_eos_case():
    for seed in range(50):
        prompt = torch.tensor([seed % 9])
        seq = expected(9, seed, prompt, 12)
        gen = seq[1:]
        for k in range(1, 6):
            if gen[k] not in gen[:k]:
                return seed, prompt, gen[k], k + 1
    raise RuntimeError


@public
def test_eos_stops_and_is_kept(sub):
    seed, prompt, eos, stop = _find_eos_case()
    lm, out = run(sub, 9, seed, prompt, 12, eos)
    exp = expected(9, seed, prompt, 12, eos)
    check(len(exp) == 1 + stop, "internal")
    check_seq(out, exp, "eos case: generation should stop right after emitting eos_id, keeping it")
    check(lm.calls == stop, f"model called {lm.calls} times, expected {stop} (one per generated token)")


def test_eos_never_emitted(sub):
    prompt = torch.tensor([3, 1])
    seq = expected(11, 7, prompt, 9)
    eos = next(i for i in range(11) if i not in seq[2:])
    lm, out = run(sub, 11, 7, prompt, 9, eos)
    check_seq(out, seq, "eos never emitted: should run to max_new_tokens")


def test_ties_lowest_id(sub):
    prompt = torch.tensor([3, 2])
    lm, out = run(sub, 6, 0, prompt, 4, scale=0.0)
    check_seq(out, [3, 2, 0, 0, 0, 0], "all logits tie: ties must go to the lowest id")


def test_eos_first_token_tie(sub):
    prompt = torch.tensor([5])
    lm, out = run(sub, 6, 0, prompt, 4, 0, scale=0.0)
    check_seq(out, [5, 0], "eos_id=0 emitted first (all logits tie)")


def test_no_graph_and_prompt_untouched(sub):
    prompt = torch.tensor([1, 2])
    lm, out = run(sub, 8, 3, prompt, 4)
    check(not remote_meta(out).has_grad_fn, "the result should carry no autograd graph (use torch.no_grad())")
    check(
        not any(lm.grad_modes),
        "the model was called with autograd recording: decoding needs no graph (wrap the loop in torch.no_grad())",
    )
    check(not any(m == "prompt" or m == 1 for m in sub.last_call.mutated), "the prompt must not be modified in place")
