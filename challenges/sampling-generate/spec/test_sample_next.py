"""Specs for sample_next: the distribution of 20,000 draws taken in one call (a [20000, V]
logits batch) against a plain-Python float64 oracle of temperature -> top-k -> top-p ->
softmax. Ids outside the filtered set must never appear, every id inside it must appear, and
a chi-square goodness-of-fit test fails only below p = 1e-6; seeds are fixed, so verdicts
never change. Plus exact cases (greedy, top_k = 1, tiny temperature), reproducibility from a
seeded generator, the global RNG left alone, errors and hygiene."""

import math

import pytest
import torch
from hypothesis import Phase, assume, given, settings
from hypothesis import strategies as st

from grader.spec import (
    Mistake,
    check,
    check_close,
    check_unchanged_inputs,
    describe,
    describe_value,
    expect_raises,
    fail,
    public,
    randn,
    remote_meta,
)

INF = float("inf")
NAN = float("nan")
N = 20_000
P_MIN = 1e-6
SETTINGS = settings(
    derandomize=True,
    max_examples=25,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    report_multiple_bugs=False,
)

# ---------------------------------------------------------------- oracle (plain Python, float64)


def _softmax(z):
    top = max(z)
    w = [math.exp(v - top) if v != -INF else 0.0 for v in z]
    total = sum(w)
    return [v / total for v in w]


def oracle(row, temperature=1.0, top_k=None, top_p=None, order="tkp"):
    """(probs, margin): the distribution sample_next draws from for one row of logits, and
    the smallest distance between top_p and a cumulative probability (boundary safety).

    ``order`` lists the steps (t = temperature, k = top-k, p = top-p) so the specs can also
    build the distributions of typical mistakes."""
    z, margin = [float(v) for v in row], INF
    for step in order:
        if step == "t":
            z = [v / temperature for v in z]
        elif step == "k" and top_k is not None and top_k < len(z):
            kth = sorted(z, reverse=True)[top_k - 1]
            z = [v if v >= kth else -INF for v in z]
        elif step == "p" and top_p is not None and top_p < 1.0:
            probs = _softmax(z)
            keep, cum = [False] * len(z), 0.0
            for i in sorted(range(len(z)), key=lambda i: -probs[i]):  # stable: ties in index order
                keep[i] = cum < top_p
                cum += probs[i]
                margin = min(margin, abs(cum - top_p))
            z = [v if kept else -INF for v, kept in zip(z, keep)]
    return _softmax(z), margin


def oracle_rows(x, **kw):
    """Oracle distributions for every row of ``x`` [R, V]; asserts the fixture is safe."""
    out = []
    for row in x.double().tolist():
        probs, margin = oracle(row, **kw)
        assert margin > 1e-4, f"spec fixture too close to the top-p boundary ({margin})"
        out.append(probs)
    return out


def drop_crossing(row, temperature=1.0, top_k=None, top_p=None):
    """The distribution when top-p drops the token that crosses p (cumulative <= p)."""
    z = [float(v) / temperature for v in row]
    if top_k is not None and top_k < len(z):
        kth = sorted(z, reverse=True)[top_k - 1]
        z = [v if v >= kth else -INF for v in z]
    probs = _softmax(z)
    keep, cum = [False] * len(z), 0.0
    for i in sorted(range(len(z)), key=lambda i: -probs[i]):
        cum += probs[i]
        keep[i] = cum <= top_p
    if not any(keep):
        return None
    return _softmax([v if kept else -INF for v, kept in zip(z, keep)])


# ---------------------------------------------------------------- checking


def check_ids(got, shape, device, what, inputs):
    """Type, dtype, shape and device of a tensor of ids."""
    __tracebackhide__ = True
    check(hasattr(got, "detach"), f"{what} should return a torch tensor, got {describe_value(got)}. Inputs: {inputs}.")
    check(got.dtype == torch.int64, f"{what} should return int64 ids, got {got.dtype}. Inputs: {inputs}.")
    check(
        tuple(got.shape) == tuple(shape),
        f"{what} should return shape {list(shape)}, got {list(got.shape)}. Inputs: {inputs}.",
        diagnosis="the ids keep a trailing dimension of size 1 (torch.multinomial returns [B, 1]): squeeze(-1) it."
        if tuple(got.shape) == (*shape, 1)
        else "",
    )
    if device is not None:
        meta = remote_meta(got)
        where = meta.device if meta is not None else "cpu"
        check(where.startswith(device), f"{what} returned ids on {where}, but the logits were on {device}.")


def p_value(counts, probs, n):
    """Chi-square goodness-of-fit p-value of ``counts`` against ``probs`` over their support."""
    support = [i for i, q in enumerate(probs) if q > 0]
    if len(support) < 2:
        return 1.0
    stat = sum((counts[i] - n * probs[i]) ** 2 / (n * probs[i]) for i in support)
    df = torch.tensor((len(support) - 1) / 2, dtype=torch.float64)
    return float(torch.special.gammaincc(df, torch.tensor(stat / 2, dtype=torch.float64)))


def fits(counts, probs, n):
    """Counts consistent with ``probs``: nothing outside its support and a fair chi-square."""
    if any(c > 0 and q == 0 for c, q in zip(counts, probs)):
        return False
    return p_value(counts, probs, n) >= P_MIN


def tied_dropped(counts, row, temperature=1.0, top_k=None, **kw):
    """The diagnosis when the draws keep at most ``top_k`` ids and drop an id tied with the
    k-th largest scaled logit (top-k that keeps exactly k: torch.topk's indices), else ""."""
    if top_k is None or top_k >= len(row) or temperature == 0:
        return ""
    z = [float(v) / temperature for v in row]
    kth = sorted(z, reverse=True)[top_k - 1]
    tied = [i for i, v in enumerate(z) if v == kth]
    drawn = [i for i, c in enumerate(counts) if c > 0]
    if sum(v >= kth for v in z) <= top_k or len(drawn) > top_k or not any(counts[i] == 0 for i in tied):
        return ""
    if any(z[i] < kth for i in drawn):
        return ""
    return (
        f"ids tied with the k-th largest logit are dropped: top-k keeps exactly k={top_k} ids (torch.topk's indices), "
        "but every entry >= the k-th largest value must stay, ties included."
    )


def check_rows(got, rows_probs, n, *, what, inputs, hint="", alternatives=(), rows=None, kw=None):
    """``got`` holds ``n`` draws per row of ``rows_probs``, in row blocks. Each block must
    stay inside its row's support, hit every id of it, and pass the chi-square test.
    ``alternatives``: (rows_probs of a typical mistake, diagnosis) to name the mistake;
    ``rows`` and ``kw``: the logits rows and sample_next's settings, to recognise the others."""
    __tracebackhide__ = True
    kw = kw or {}
    ids = got.reshape(len(rows_probs), n)
    V = len(rows_probs[0])
    check(
        bool(((ids >= 0) & (ids < V)).all()),
        f"{what}: drew ids outside [0, {V}); ids index the last dim of logits. Inputs: {inputs}.",
    )
    for r, probs in enumerate(rows_probs):
        counts = torch.bincount(ids[r], minlength=V).tolist()
        where = f"row {r}: " if len(rows_probs) > 1 else ""
        if fits(counts, probs, n) and all(c > 0 for c, q in zip(counts, probs) if q > 0):
            continue
        for alt_rows, diagnosis in alternatives:
            alt = alt_rows[r]
            if alt is not None and sum(q > 0 for q in alt) > 1 and fits(counts, alt, n):
                fail(
                    f"{what}: {where}the {n} draws do not follow softmax of the filtered logits / temperature "
                    f"(they fit another distribution). Inputs: {inputs}.",
                    diagnosis=diagnosis,
                )
        dropped = tied_dropped(counts, rows[r], **kw) if rows is not None else ""
        top = max(range(V), key=lambda i: probs[i])
        if counts[top] == n and probs[top] < 0.999:
            unfiltered = kw.get("top_k") is None and kw.get("top_p") is None
            fail(
                f"{what}: {where}all {n} draws are the most likely id, but {sum(q > 0 for q in probs)} ids "
                f"survive the filters. Inputs: {inputs}. {hint}",
                diagnosis=dropped
                or (
                    "the argmax is returned instead of sampling: draw with "
                    "torch.multinomial(probs, 1, generator=generator)."
                    if unfiltered
                    else ""
                ),
            )
        outside = [i for i in range(V) if counts[i] > 0 and probs[i] == 0]
        if outside:
            fail(
                f"{what}: {where}id {outside[0]} was drawn {counts[outside[0]]} times out of {n}, but the "
                f"filters remove it (probability 0). Inputs: {inputs}. {hint}"
            )
        missing = [i for i in range(V) if counts[i] == 0 and probs[i] > 0]
        if missing:
            fail(
                f"{what}: {where}id {missing[0]} was never drawn in {n} draws, but it survives the filters "
                f"with probability {probs[missing[0]]:.3f}. Inputs: {inputs}. {hint}",
                diagnosis=dropped,
            )
        pv = p_value(counts, probs, n)
        fail(
            f"{what}: {where}the {n} draws do not follow softmax(filtered logits / temperature): chi-square "
            f"p-value {pv:.2e} < {P_MIN:g}. Inputs: {inputs}. {hint}"
        )


def draw(sub, x, n, seed, **kw):
    """n draws per row of ``x`` [R, V] in one sample_next call on a [R * n, V] batch."""
    big = x.repeat_interleave(n, dim=0)  # (R * n, V)
    return sub.sample_next(big, generator=sub.generator(seed), **kw)


def run_case(sub, x, device, *, seed, n=N, hint="", alternatives=(), **kw):
    """Draw, check the ids' format, then the distribution of every row."""
    __tracebackhide__ = True
    x = x if x.dim() == 2 else x[None]
    inputs = describe(logits=x, **kw) + f" (each row repeated {n} times), generator seed {seed}"
    got = draw(sub, x, n, seed, **kw)
    check_ids(got, (x.shape[0] * n,), device, "sample_next", inputs)
    rows = oracle_rows(x, **kw)
    assert all(q * n >= 30 for probs in rows for q in probs if q > 0), "spec fixture: an allowed id is too rare"
    alts = [([alt(row) for row in x.double().tolist()], message) for alt, message in alternatives]
    check_rows(
        got, rows, n, what="sample_next", inputs=inputs, hint=hint, alternatives=alts, rows=x.double().tolist(), kw=kw
    )
    return got


def kw_id(kw):
    """A readable pytest id for a dict of keyword arguments."""
    return ",".join(f"{k}={v}" for k, v in kw.items())


def before_temperature(**kw):
    return lambda row: oracle(row, order="kpt", **kw)[0]


def top_p_before_top_k(**kw):
    return lambda row: oracle(row, order="tpk", **kw)[0]


def unfiltered(temperature=1.0, **kw):
    return lambda row: oracle(row, temperature=temperature)[0]


def multiplied(temperature=1.0, **kw):
    return lambda row: oracle(row, temperature=1.0 / temperature, **kw)[0]


def common_mistakes(**kw):
    """(distribution function, message) for the usual mistakes with these settings."""
    out = []
    if kw.get("temperature", 1.0) not in (0.0, 1.0):
        out.append(
            (
                multiplied(**kw),
                "the logits are multiplied by the temperature: divide them by the temperature.",
            )
        )
        if kw.get("top_p") is not None:
            out.append(
                (
                    before_temperature(**kw),
                    "top-k and top-p are applied before the temperature: divide the logits by the temperature "
                    "first, then apply top-k and top-p to the scaled logits.",
                )
            )
    if kw.get("top_k") is not None or kw.get("top_p") is not None:
        out.append(
            (
                unfiltered(**kw),
                "the draws come from the softmax of the unfiltered logits: sample from the softmax of the "
                "FILTERED logits (removed entries -inf).",
            )
        )
    if kw.get("top_p") is not None:
        out.append(
            (
                lambda row: drop_crossing(row, **kw),
                f"top-p drops the crossing token (the one whose cumulative probability crosses top_p={kw['top_p']}): "
                "it must be kept (keep a token when the mass strictly before it is < p).",
            )
        )
        if kw.get("top_k") is not None:
            out.append(
                (
                    top_p_before_top_k(**kw),
                    "top-p is applied before top-k: apply top-k first, then top-p on the softmax of what top-k left.",
                )
            )
    return out


# ---------------------------------------------------------------- distributions

HAND = torch.tensor([[2.0, 1.0, 0.5, 1.0, -1.0]])


def test_plain_softmax_distribution(sub, device):
    """No filters: draws follow softmax(logits)."""
    run_case(sub, HAND, device, seed=0, hint="With temperature 1 and no filters, draw from softmax(logits).")


@public
def test_worked_example(sub, device):
    """The prompt's example: T=0.5, top_k=3, top_p=0.8."""
    kw = dict(temperature=0.5, top_k=3, top_p=0.8)
    run_case(
        sub,
        HAND,
        device,
        seed=1,
        hint="Expected distribution [0.8808, 0.1192, 0, 0, 0] (see the prompt's example).",
        alternatives=common_mistakes(**kw),
        **kw,
    )


@pytest.mark.parametrize("temperature", [0.5, 2.0, 3.7])
def test_temperature(sub, device, temperature):
    """Draws follow softmax(logits / temperature)."""
    x = torch.tensor([[1.5, 0.0, -0.5, 1.0, 0.3, -1.2]])
    kw = dict(temperature=temperature)
    run_case(sub, x, device, seed=2, alternatives=common_mistakes(**kw), **kw)


def test_float64_logits(sub, device):
    """float64 logits are accepted; ids are int64."""
    x = torch.tensor([[0.3, 1.1, -0.4, 0.9]], dtype=torch.float64)
    run_case(sub, x, device, seed=3, temperature=0.8)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_top_k_ties_all_kept(sub, device, k):
    """Entries tied with the k-th largest all stay."""
    x = torch.tensor([[3.0, 1.0, 3.0, 2.0, 1.0, 2.0, 0.0]])
    kw = dict(top_k=k, temperature=1.5)
    z = [v / 1.5 for v in x[0].tolist()]
    kth = sorted(z, reverse=True)[k - 1]
    hint = (
        f"Keep every entry >= the k-th largest value (k={k}): it is tied, so more than {k} ids stay "
        "(torch.topk's indices keep exactly k and drop a tie)."
        if sum(v >= kth for v in z) > k
        else ""
    )
    run_case(sub, x, device, seed=4 + k, hint=hint, alternatives=common_mistakes(**kw), **kw)


@pytest.mark.parametrize("k", [6, 7, 50])
def test_top_k_at_least_vocab_keeps_all(sub, device, k):
    """top_k >= V keeps every id."""
    x = torch.tensor([[0.4, -0.3, 1.0, 0.0, -1.0, 0.6]])
    run_case(sub, x, device, seed=8, top_k=k, hint=f"top_k={k} >= V=6 keeps every entry (clamp k for torch.topk).")


@pytest.mark.parametrize("p", [0.5, 0.65, 0.85])
def test_top_p_crossing_token_kept(sub, device, p):
    """probs [.1, .4, .2, .3]: crossing token stays."""
    x = torch.tensor([[0.1, 0.4, 0.2, 0.3]]).log()
    kw = dict(top_p=p)
    run_case(sub, x, device, seed=9, alternatives=common_mistakes(**kw), **kw)


@pytest.mark.parametrize("p", [0.4, 0.85])
def test_top_p_ties_in_index_order(sub, device, p):
    """Equal probabilities enter top-p in index order."""
    x = torch.tensor([[0.0, 1.0, 0.0, 1.0, 1.0, -2.0]])
    run_case(
        sub,
        x,
        device,
        seed=10,
        top_p=p,
        hint="Sort with torch.sort(..., descending=True, stable=True): equal probabilities keep index order.",
    )


def test_top_p_one_keeps_all(sub, device):
    """top_p = 1 keeps every id."""
    x = torch.tensor([[0.0, -2.5, 1.0, 0.5, -1.0]])
    run_case(sub, x, device, seed=11, top_p=1.0, temperature=1.3, hint="top_p = 1 keeps every token.")


@pytest.mark.parametrize("temperature, p", [(2.0, 0.55), (0.5, 0.7)])
def test_temperature_before_top_p(sub, device, temperature, p):
    """Top-p sees the temperature-scaled probabilities."""
    x = torch.tensor([[0.6, 0.25, 0.1, 0.05]]).log()
    kw = dict(temperature=temperature, top_p=p)
    assert oracle(x[0].tolist(), **kw)[0] != oracle(x[0].tolist(), order="ptk", **kw)[0]
    run_case(
        sub,
        x,
        device,
        seed=12,
        hint="Divide by the temperature first; top-p is computed on softmax(logits / temperature).",
        alternatives=common_mistakes(**kw),
        **kw,
    )


def test_top_k_before_top_p(sub, device):
    """Top-p sees the distribution top-k left."""
    x = torch.tensor([[0.4, 0.3, 0.2, 0.1]]).log()
    kw = dict(top_k=2, top_p=0.5)
    assert oracle(x[0].tolist(), **kw)[0] != oracle(x[0].tolist(), order="tpk", **kw)[0]
    run_case(
        sub,
        x,
        device,
        seed=13,
        hint="Apply top-k first; top-p then uses the softmax of what top-k left (renormalised).",
        alternatives=common_mistakes(**kw),
        **kw,
    )


@pytest.mark.parametrize("kw", [dict(top_k=2), dict(top_k=5), dict(top_p=0.8), dict(top_k=3, top_p=0.9)], ids=kw_id)
def test_pre_masked_never_drawn(sub, device, kw):
    """-inf entries are never drawn."""
    x = torch.tensor([[1.0, -INF, 0.5, 2.0, -INF, 0.0], [-INF, 0.0, -INF, 0.3, -1.0, -INF]])
    run_case(sub, x, device, seed=14, alternatives=common_mistakes(**kw), **kw)


def test_batch_rows_independent(sub, device):
    """Each batch row is filtered and sampled alone."""
    x = randn(3, 8, seed=5, scale=1.5)
    kw = dict(temperature=0.9, top_k=5, top_p=0.8)
    for probs in oracle_rows(x, **kw):
        assert min(q for q in probs if q > 0) > 0.004
    run_case(
        sub,
        x,
        device,
        seed=15,
        n=N,
        hint="Filter and normalise along the last dim (the vocabulary), row by row.",
        alternatives=common_mistakes(**kw),
        **kw,
    )


# ---------------------------------------------------------------- deterministic cases


def argmax_rows(x):
    """Lowest id among each row's maxima, in plain Python."""
    return [row.index(max(row)) for row in x.double().tolist()]


def greedy_diagnosis(got, x, again):
    """The mistake when temperature 0 picks another of the tied maxima, else "". ``again()``
    repeats the call with another generator seed: a random pick among the ties changes."""
    rows = x.double().tolist()
    got = got.tolist()
    maxima = [[i for i, v in enumerate(row) if v == max(row)] for row in rows]
    if not all(g in m for g, m in zip(got, maxima)):
        return ""
    if any(picks != got for picks in again().reshape(50, len(rows)).tolist()):
        return (
            "at temperature 0 a tied maximum is picked at random: temperature 0 must return the argmax "
            "(the lowest id on ties) without sampling."
        )
    if all(g == m[-1] for g, m in zip(got, maxima)):
        return "at temperature 0 ties go to the highest id: take the lowest id among tied maxima (torch.argmax does)."
    return ""


@public
def test_temperature_zero_is_greedy(sub, device):
    """temperature 0: argmax, ties -> lowest id."""
    x = torch.tensor([[0.5, 2.0, 2.0, -1.0], [1.0, 1.0, 1.0, 1.0], [-INF, -3.0, -INF, -3.5], [0.1, 0.2, 0.3, 0.4]])
    got = sub.sample_next(x, temperature=0.0, generator=sub.generator(0))
    check_close(
        got,
        torch.tensor(argmax_rows(x)),
        what="sample_next(logits, temperature=0.0)",
        inputs=describe(logits=x),
        device=device,
        hint="temperature 0 is greedy: torch.argmax(logits, -1), which takes the lowest id on ties.",
        diagnosis=lambda: greedy_diagnosis(
            got, x, lambda: sub.sample_next(x.repeat(50, 1), temperature=0.0, generator=sub.generator(1))
        ),
    )


@pytest.mark.parametrize("kw", [dict(top_k=2), dict(top_p=0.3), dict(top_k=1, top_p=0.9)], ids=kw_id)
def test_temperature_zero_ignores_filters(sub, device, kw):
    """temperature 0 with filters is still the argmax."""
    x = torch.tensor([[0.5, 2.0, 2.0, -1.0], [3.0, 1.0, 3.0, 3.0], [0.0, 0.1, -0.2, 0.05]])
    got = sub.sample_next(x, temperature=0.0, **kw)
    check_close(
        got,
        torch.tensor(argmax_rows(x)),
        what=f"sample_next(logits, temperature=0.0, {kw})",
        inputs=describe(logits=x),
        device=device,
        hint="Greedy: the argmax (lowest id on ties) survives every filter.",
        diagnosis=lambda: greedy_diagnosis(
            got, x, lambda: sub.sample_next(x.repeat(50, 1), temperature=0.0, generator=sub.generator(1), **kw)
        ),
    )


def test_temperature_zero_draws_nothing(sub, device):
    """temperature 0 leaves the global RNG alone."""
    x = randn(5, 9, seed=6)
    before = sub.rng_digest()
    sub.sample_next(x, temperature=0.0)
    check(
        sub.rng_digest() == before,
        "sample_next(logits, temperature=0.0) without a generator changed the global RNG state: greedy "
        "decoding must draw nothing.",
        diagnosis="temperature 0 still samples: return the argmax before any sampling (it draws nothing).",
    )


@pytest.mark.parametrize("kw", [dict(top_k=1), dict(top_p=1e-9), dict(temperature=1e-3)], ids=kw_id)
def test_deterministic_settings(sub, device, kw):
    """top_k=1, tiny top_p, tiny temperature: argmax."""
    x = torch.tensor([[0.3, 1.0, 0.8, -0.4, 0.0], [2.0, -1.0, 1.7, 1.2, 0.5], [-0.5, -0.6, -0.2, -1.0, -0.3]])
    big = x.repeat_interleave(200, dim=0)  # (600, 5)
    got = sub.sample_next(big, generator=sub.generator(16), **kw)
    check_ids(got, (600,), device, "sample_next", describe(logits=big, **kw))
    check_close(
        got,
        torch.tensor(argmax_rows(big)),
        what=f"sample_next(logits, {kw}) (200 draws per row)",
        inputs=describe(logits=big, **kw),
        device=device,
        hint="Each row's top logit leads the next by >= 0.1, so only the argmax can be drawn"
        + (" (divide by the temperature: logits / 1e-3)." if "temperature" in kw else "."),
    )


# ---------------------------------------------------------------- the generator


def test_same_seed_same_ids(sub, device):
    """Same generator seed -> same ids; other -> other."""
    x = randn(4, 7, seed=7).repeat_interleave(250, dim=0)  # (1000, 7)
    kw = dict(temperature=1.2, top_k=5, top_p=0.95)
    a = sub.sample_next(x, generator=sub.generator(123), **kw)
    b = sub.sample_next(x, generator=sub.generator(123), **kw)
    c = sub.sample_next(x, generator=sub.generator(124), **kw)
    check_ids(a, (1000,), device, "sample_next", describe(logits=x, **kw))
    same = torch.equal(a, b)
    before = sub.rng_digest()
    sub.sample_next(x, generator=sub.generator(123), **kw)
    global_used = sub.rng_digest() != before
    check(
        same,
        f"sample_next(logits, {kw_id(kw)}, generator=g) twice, with g seeded 123 both times: the calls drew "
        "different ids.",
        diagnosis="the draws come from torch's global RNG, not from `generator`: pass generator=generator "
        "to torch.multinomial."
        if global_used
        else "",
    )
    check(
        not torch.equal(a, c),
        "generators seeded 123 and 124 gave the same 1000 ids: is `generator` ignored?",
    )


def test_global_rng_untouched(sub, device):
    """A call with a generator leaves global RNG alone."""
    x = randn(64, 10, seed=8)
    before = sub.rng_digest()
    sub.sample_next(x, temperature=0.7, top_k=6, top_p=0.9, generator=sub.generator(5))
    check(
        sub.rng_digest() == before,
        "sample_next(logits, temperature=0.7, top_k=6, top_p=0.9, generator=g) changed the global RNG state.",
        diagnosis="the draws come from torch's global RNG, not from `generator`: pass generator=generator "
        "to torch.multinomial / torch.rand.",
    )


# ---------------------------------------------------------------- errors and hygiene


@pytest.mark.parametrize(
    "kw",
    [
        dict(temperature=-1.0),
        dict(temperature=NAN),
        dict(top_k=0),
        dict(top_k=-2),
        dict(top_p=0.0),
        dict(top_p=-0.1),
        dict(top_p=1.5),
        dict(top_p=NAN),
        dict(temperature=0.0, top_k=0),
    ],
    ids=kw_id,
)
def test_invalid_arguments_raise(sub, kw):
    """Invalid temperature, top_k or top_p: ValueError."""
    name, value = next((k, v) for k, v in kw.items() if not (k == "temperature" and v == 0.0))
    expect_value_error(
        sub.sample_next,
        torch.tensor([[1.0, 2.0, 3.0]]),
        call=f"sample_next(torch.tensor([[1.0, 2.0, 3.0]]), {kw_id(kw)})",
        diagnosis=f"{name}={value} is not rejected: {RULES[name]}",
        **kw,
    )


RULES = {
    "temperature": "temperature must be >= 0 (`not temperature >= 0` also catches nan, `temperature < 0` does not).",
    "top_k": "top_k must be >= 1 when given.",
    "top_p": "top_p must lie in (0, 1] (`not 0 < top_p <= 1` also catches nan).",
}


def expect_value_error(fn, *args, call, diagnosis, **kwargs):
    """``fn(*args, **kwargs)`` must raise ValueError; otherwise a Wrong Answer with ``diagnosis``."""
    __tracebackhide__ = True
    try:
        expect_raises(ValueError, fn, *args, call=call, **kwargs)
    except Mistake as missing:
        fail(str(missing), diagnosis=diagnosis)


def test_hygiene(sub, device):
    """Logits unchanged; no autograd graph."""
    x = randn(6, 5, seed=9)
    got = sub.sample_next(x, temperature=0.5, top_k=3, top_p=0.7, generator=sub.generator(1))
    check_unchanged_inputs(sub, ["logits"])
    check_ids(got, (6,), device, "sample_next", describe(logits=x))
    meta = remote_meta(got)
    check(meta is None or not (meta.has_grad_fn or meta.requires_grad), "the ids should carry no autograd graph")


@SETTINGS
@given(
    rows=st.integers(1, 3),
    vocab=st.integers(2, 10),
    k=st.one_of(st.none(), st.integers(1, 12)),
    p=st.sampled_from([None, 0.3, 0.5, 0.8, 0.95, 1.0]),
    temperature=st.sampled_from([0.5, 1.0, 2.0]),
    seed=st.integers(0, 10_000),
    rounded=st.booleans(),
)
def test_support_property(sub, rows, vocab, k, p, temperature, seed, rounded):
    """Random rows: only kept ids are ever drawn."""
    x = randn(rows, vocab, seed=seed, scale=2.0)
    if rounded:
        x = x.round()  # frequent ties
    kw = dict(temperature=temperature, top_k=k, top_p=p)
    assume(all(oracle(row, **kw)[1] > 1e-4 for row in x.double().tolist()))
    n = 2000
    got = draw(sub, x, n, seed, **kw)
    inputs = describe(logits=x, **kw) + f" (each row repeated {n} times)"
    check_ids(got, (rows * n,), None, "sample_next", inputs)
    check(bool(((got >= 0) & (got < vocab)).all()), f"sample_next drew ids outside [0, {vocab}). Inputs: {inputs}.")
    ids = got.reshape(rows, n)
    for r, row in enumerate(x.double().tolist()):
        probs = oracle(row, **kw)[0]
        counts = torch.bincount(ids[r], minlength=vocab).tolist()
        for i in range(vocab):
            check(
                not (counts[i] > 0 and probs[i] == 0),
                f"sample_next: row {r}: id {i} was drawn but the filters remove it. Inputs: {inputs}.",
            )
            check(
                not (counts[i] == 0 and probs[i] * n >= 30),
                f"sample_next: row {r}: id {i} (probability {probs[i]:.3f}) was never drawn in {n} draws. "
                f"Inputs: {inputs}.",
            )
