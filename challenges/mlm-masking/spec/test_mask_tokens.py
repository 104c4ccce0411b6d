"""Specs for mask_tokens (BERT's 80/10/10 masking).

Exact checks where the outcome is not random: labels against the original ids (every label is
-100 or the original id; where it is -100 the input is the original), special tokens never
selected (bool and 0/1 masks), mlm_probability 0 and 1, dtypes, shapes, devices, errors, the
input left unchanged, reproducibility from a seeded generator and the global RNG untouched.

Statistical checks at fixed seeds (so verdicts never change), never comparing draws with the
reference's: the selection rate against mu +/- 5 sigma, the replacement of selected positions
(mask / random id uniform over [0, V), which may equal the original / unchanged) by a
chi-square goodness-of-fit over ~40,000 selected positions, and independence of the selections:
the number selected per row, per call and per column follows Binomial(n, p), so selecting
exactly round(p * T) positions fails. Chi-square tests fail only below p = 1e-6."""

import math

import pytest
import torch

from grader.spec import check, check_unchanged_inputs, describe, fail, public, remote_meta

IGNORE = -100
P_MIN = 1e-6


# ---------------------------------------------------------------- statistics helpers


def chi2_pvalue(counts, probs, min_expected=5.0):
    """Chi-square goodness-of-fit p-value; neighbouring cells are pooled until each bin
    expects at least ``min_expected`` observations."""
    total = sum(counts)
    bins, obs, exp = [], 0.0, 0.0
    for c, q in zip(counts, probs):
        obs, exp = obs + c, exp + total * q
        if exp >= min_expected:
            bins.append([obs, exp])
            obs, exp = 0.0, 0.0
    if exp > 0 or obs > 0:
        if bins:
            bins[-1][0] += obs
            bins[-1][1] += exp
        else:
            bins.append([obs, exp])
    if len(bins) < 2:
        return 1.0
    stat = sum((o - e) ** 2 / e for o, e in bins)
    df = torch.tensor((len(bins) - 1) / 2, dtype=torch.float64)
    return float(torch.special.gammaincc(df, torch.tensor(stat / 2, dtype=torch.float64)))


def binomial_pmf(n, p):
    return [math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(n + 1)]


def ids_of(shape, vocab, seed, low=0, dtype=torch.int64):
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(low, vocab, shape, generator=gen).to(dtype)


# ---------------------------------------------------------------- checks


def call(sub, ids, mask_id, vocab, what, device=None, **kw):
    """Call mask_tokens and check the result's type, shapes, dtypes and device; return
    (inputs, labels) as CPU tensors."""
    __tracebackhide__ = True
    out = sub.mask_tokens(ids, mask_id, vocab, **kw)
    check(
        isinstance(out, (tuple, list)) and len(out) == 2,
        f"{what}: mask_tokens should return a pair (inputs, labels), got {type(out).__name__}",
    )
    inputs, labels = out
    for name, t, dtype in (("inputs", inputs, ids.dtype), ("labels", labels, torch.int64)):
        check(hasattr(t, "detach"), f"{what}: {name} should be a torch tensor, got {type(t).__name__}")
        check(
            list(t.shape) == list(ids.shape),
            f"{what}: {name} has shape {list(t.shape)}, expected the input's shape {list(ids.shape)}",
        )
        check(
            t.dtype == dtype,
            f"{what}: {name} has dtype {t.dtype}, expected {dtype}"
            + (" (labels are always int64)" if name == "labels" else " (the input's dtype)"),
        )
        if device is not None:
            meta = remote_meta(t)
            where = meta.device if meta is not None else "cpu"
            check(where.startswith(device), f"{what}: {name} is on {where}, but input_ids was on {device}")
    return inputs.cpu(), labels.cpu()


def check_consistent(ids, inputs, labels, vocab, what, special=None):
    """The exact contract: labels are -100 or the original; unselected inputs are the original;
    selected inputs are valid ids; special positions are never selected."""
    __tracebackhide__ = True
    ids = ids.long()
    selected = labels != IGNORE
    wrong = selected & (labels != ids)
    if wrong.any():
        fail(
            f"{what}: at {int(wrong.sum())} positions the label is neither -100 nor the original id: a selected "
            "position's label is its ORIGINAL id (before any replacement), every other label is -100."
        )
    changed = ~selected & (inputs.long() != ids)
    if changed.any():
        fail(
            f"{what}: {int(changed.sum())} positions with label -100 (not selected) have an input different "
            "from the original id: only selected positions may be replaced. Are the labels' -100s on the "
            "wrong positions (inverted), or are replacements drawn over all positions?"
        )
    out_of_range = selected & ((inputs < 0) | (inputs >= vocab))
    if out_of_range.any():
        bad = inputs[out_of_range][0].item()
        fail(f"{what}: a selected position holds id {bad}, outside [0, vocab_size={vocab}).")
    if special is not None:
        hit = selected & special.bool()
        if hit.any():
            fail(
                f"{what}: {int(hit.sum())} special-token positions were selected (label != -100); positions "
                "where special_tokens_mask is True / 1 must never be selected. With a 0/1 integer mask, "
                "convert it with .bool() before using it as a mask (indexing with an int tensor gathers "
                "indices 0 and 1 instead)."
            )


# ---------------------------------------------------------------- selection rate


@public
@pytest.mark.parametrize("p", [0.15, 0.4])
def test_selection_rate(sub, device, p):
    """Selection rate within mu +/- 5 sigma."""
    V, shape = 1000, (400, 250)
    ids = ids_of(shape, V, seed=1, low=5)
    what = f"mask_tokens(input_ids {list(shape)}, mask_token_id=4, vocab_size={V}, mlm_probability={p})"
    inputs, labels = call(sub, ids, 4, V, what, device, mlm_probability=p, generator=sub.generator(11))
    check_consistent(ids, inputs, labels, V, what)
    n = ids.numel()
    got = int((labels != IGNORE).sum())
    mu, sigma = n * p, math.sqrt(n * p * (1 - p))
    check(
        abs(got - mu) <= 5 * sigma,
        f"{what}: {got} of {n} positions were selected (label != -100), expected {mu:.0f} +/- {5 * sigma:.0f} "
        f"(mu +/- 5 sigma): select each position with probability mlm_probability, and give EVERY selected "
        "position a label, including the 10% left unchanged and the 10% replaced by a random id.",
    )


@public
def test_replacement_split(sub, device):
    """Selected: 80% mask, 10% random, 10% kept."""
    V, mask_id, orig, shape = 10, 7, 3, (200, 400)
    ids = torch.full(shape, orig, dtype=torch.int64)
    what = f"mask_tokens(input_ids {list(shape)} all equal to {orig}, mask_token_id={mask_id}, vocab_size={V}, mlm_probability=0.5)"
    inputs, labels = call(sub, ids, mask_id, V, what, device, mlm_probability=0.5, generator=sub.generator(5))
    check_consistent(ids, inputs, labels, V, what)
    new = inputs[labels != IGNORE].long()
    n = new.numel()
    check(n > 30_000, f"{what}: only {n} of {ids.numel()} positions were selected, expected about half")
    counts = torch.bincount(new, minlength=V).tolist()
    probs = [0.1 / V] * V
    probs[mask_id] += 0.8
    probs[orig] += 0.1
    pv = chi2_pvalue(counts, probs)
    frac_mask, frac_orig = counts[mask_id] / n, counts[orig] / n
    frac_other = 1 - frac_mask - frac_orig
    missing = [i for i in range(V) if counts[i] == 0]
    check(
        pv >= P_MIN,
        f"{what}: among the {n} selected positions the new ids do not follow the 80/10/10 rule (chi-square "
        f"p-value {pv:.2e} < {P_MIN:g}). Observed: mask token {frac_mask:.3f}, original id {frac_orig:.3f}, "
        f"other ids {frac_other:.3f}; expected {0.8 + 0.1 / V:.3f}, {0.1 + 0.1 / V:.3f}, {0.1 * (V - 2) / V:.3f} "
        "(a random id is uniform over ALL of [0, vocab_size), so it can be the mask token or the original)."
        + (
            f" Ids {missing} never appeared: does the random draw cover the whole range [0, vocab_size)?"
            if missing
            else ""
        ),
    )


# ---------------------------------------------------------------- independence


@pytest.mark.parametrize("p", [0.15, 0.5])
def test_selection_counts_binomial(sub, device, p):
    """Per-row and per-column counts are binomial."""
    V, B, T = 500, 2000, 40
    ids = ids_of((B, T), V, seed=2, low=5)
    what = f"mask_tokens(input_ids [{B}, {T}], mlm_probability={p})"
    inputs, labels = call(sub, ids, 3, V, what, device, mlm_probability=p, generator=sub.generator(23))
    selected = labels != IGNORE
    rows = torch.bincount(selected.sum(1), minlength=T + 1).tolist()
    pv = chi2_pvalue(rows, binomial_pmf(T, p))
    distinct = sum(c > 0 for c in rows)
    check(
        pv >= P_MIN,
        f"{what}: the number of selected positions per row does not follow Binomial({T}, {p}) (chi-square "
        f"p-value {pv:.2e}; {distinct} distinct per-row counts seen). Select each position independently "
        f"with probability mlm_probability (e.g. torch.bernoulli), not exactly round(p * T) per row.",
    )
    cols = selected.sum(0).double()
    stat = float(((cols - B * p) ** 2).sum() / (B * p * (1 - p)))
    df = torch.tensor(T / 2, dtype=torch.float64)
    pv = float(torch.special.gammaincc(df, torch.tensor(stat / 2, dtype=torch.float64)))
    check(
        pv >= P_MIN,
        f"{what}: the number of selected positions per column is not Binomial({B}, {p}) (dispersion "
        f"chi-square p-value {pv:.2e}): draw an independent coin for every position, not one pattern "
        "shared by all rows.",
    )


def test_count_varies_between_calls(sub, device):
    """1-D input: counts per call are binomial."""
    V, T, p, calls = 100, 12, 0.15, 200
    ids = ids_of((T,), V, seed=3, low=5)
    counts = [0] * (T + 1)
    for seed in range(calls):
        _, labels = call(
            sub, ids, 4, V, f"mask_tokens(input_ids [{T}], mlm_probability={p})", device, generator=sub.generator(seed)
        )
        counts[int((labels != IGNORE).sum())] += 1
    pv = chi2_pvalue(counts, binomial_pmf(T, p))
    check(
        pv >= P_MIN,
        f"{calls} calls of mask_tokens(input_ids [{T}], mlm_probability={p}) with seeds 0..{calls - 1}: the "
        f"number of selected positions does not follow Binomial({T}, {p}) (chi-square p-value {pv:.2e}; "
        f"{sum(c > 0 for c in counts)} distinct counts seen). Each position is selected independently, so "
        "the count varies from call to call; do not select exactly round(p * T) positions.",
    )


# ---------------------------------------------------------------- exact properties


@pytest.mark.parametrize(
    "shape, seed",
    [((6, 20), 0), ((50,), 1), ((1, 1), 2), ((3, 4, 5), 3), ((2, 0), 4)],
    ids=["6x20", "50", "1x1", "3x4x5", "2x0"],
)
def test_labels_and_reconstruction(sub, device, shape, seed):
    """Labels hold originals; others unchanged."""
    V = 30
    ids = ids_of(shape, V, seed=seed)
    what = f"mask_tokens(input_ids {list(shape)}, mask_token_id=0, vocab_size={V}, mlm_probability=0.6)"
    inputs, labels = call(sub, ids, 0, V, what, device, mlm_probability=0.6, generator=sub.generator(seed))
    check_consistent(ids, inputs, labels, V, what)
    rebuilt = torch.where(labels != IGNORE, labels, inputs.long())
    check(torch.equal(rebuilt, ids), f"{what}: where(labels != -100, labels, inputs) is not the original input_ids")


@public
@pytest.mark.parametrize("kind", ["bool", "int64 0/1", "uint8 0/1"])
def test_special_tokens_never_selected(sub, device, kind):
    """Special tokens are never selected."""
    V, shape = 50, (4, 12)
    ids = ids_of(shape, V, seed=7, low=5)
    special = torch.zeros(shape, dtype=torch.bool)
    special[:, 0] = True  # [CLS]
    special[:, -1] = True  # [SEP]
    special[2:, 6] = True  # padding / [SEP] in the middle
    mask = {"bool": special, "int64 0/1": special.long(), "uint8 0/1": special.to(torch.uint8)}[kind]
    what = f"mask_tokens({describe(input_ids=ids)}, special_tokens_mask {kind}{list(shape)}, mlm_probability=1.0)"
    inputs, labels = call(
        sub, ids, 3, V, what, device, special_tokens_mask=mask, mlm_probability=1.0, generator=sub.generator(9)
    )
    check_consistent(ids, inputs, labels, V, what, special)
    expected = ids.masked_fill(special, IGNORE)
    check(
        torch.equal(labels, expected),
        f"{what}: with mlm_probability=1 every non-special position is selected and no special one; "
        f"{int((labels != expected).sum())} labels are wrong.",
    )


def test_special_tokens_at_half_probability(sub, device):
    """p = 0.5: special positions keep their ids."""
    V, shape = 40, (64, 32)
    ids = ids_of(shape, V, seed=8, low=5)
    special = ids_of(shape, 2, seed=9).long()  # a random 0/1 mask
    what = f"mask_tokens({describe(input_ids=ids)}, special_tokens_mask int64 0/1 {list(shape)}, mlm_probability=0.5)"
    inputs, labels = call(
        sub, ids, 3, V, what, device, special_tokens_mask=special, mlm_probability=0.5, generator=sub.generator(1)
    )
    check_consistent(ids, inputs, labels, V, what, special)
    n = int((special == 0).sum())
    got = int((labels != IGNORE).sum())
    mu, sigma = n * 0.5, math.sqrt(n * 0.25)
    check(
        abs(got - mu) <= 5 * sigma,
        f"{what}: {got} positions selected, expected {mu:.0f} +/- {5 * sigma:.0f} of the {n} non-special ones",
    )


@public
def test_probability_zero_and_one(sub, device):
    """mlm_probability 0 selects none, 1 selects all."""
    V = 20
    ids = ids_of((3, 9), V, seed=10, low=1)
    what = f"mask_tokens({describe(input_ids=ids)}, mask_token_id=0, vocab_size={V}, mlm_probability=0.0)"
    inputs, labels = call(sub, ids, 0, V, what, device, mlm_probability=0.0, generator=sub.generator(2))
    check(bool((labels == IGNORE).all()), f"{what}: every label should be -100 (nothing selected)")
    check(torch.equal(inputs, ids), f"{what}: inputs should equal input_ids (nothing selected)")
    what = f"mask_tokens({describe(input_ids=ids)}, mask_token_id=0, vocab_size={V}, mlm_probability=1.0)"
    inputs, labels = call(sub, ids, 0, V, what, device, mlm_probability=1.0, generator=sub.generator(2))
    check_consistent(ids, inputs, labels, V, what)
    check(torch.equal(labels, ids), f"{what}: every position should be selected, so labels == input_ids")


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")], ids=["-0.1", "1.5", "nan"])
def test_invalid_probability_raises(sub, p):
    """mlm_probability outside [0, 1]: ValueError."""
    with pytest.raises(ValueError):
        sub.mask_tokens(torch.tensor([[5, 6, 7]]), 0, 10, mlm_probability=p)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32], ids=["int64", "int32"])
def test_dtypes(sub, device, dtype):
    """inputs keep input dtype; labels are int64."""
    V = 60
    ids = ids_of((8, 16), V, seed=12, dtype=dtype)
    what = f"mask_tokens({describe(input_ids=ids)}, mlm_probability=0.5)"
    inputs, labels = call(sub, ids, 1, V, what, device, mlm_probability=0.5, generator=sub.generator(4))
    check_consistent(ids, inputs, labels, V, what)


# ---------------------------------------------------------------- the generator and hygiene


@public
def test_same_seed_same_result(sub, device):
    """Same generator seed -> same result."""
    V = 100
    ids = ids_of((16, 24), V, seed=13)
    what = f"mask_tokens({describe(input_ids=ids)}, generator=seeded)"
    a = call(sub, ids, 2, V, what, device, mlm_probability=0.3, generator=sub.generator(42))
    b = call(sub, ids, 2, V, what, device, mlm_probability=0.3, generator=sub.generator(42))
    check(
        torch.equal(a[0], b[0]) and torch.equal(a[1], b[1]),
        f"{what}: two calls with generators seeded the same way gave different results: take every random "
        "draw from `generator`.",
    )
    c = call(sub, ids, 2, V, what, device, mlm_probability=0.3, generator=sub.generator(43))
    check(
        not (torch.equal(a[0], c[0]) and torch.equal(a[1], c[1])),
        f"{what}: generators with different seeds gave identical results: is `generator` used at all?",
    )


def test_global_rng_untouched(sub, device):
    """A generator call leaves the global RNG alone."""
    ids = ids_of((8, 30), 50, seed=14)
    before = sub.rng_digest()
    sub.mask_tokens(ids, 1, 50, mlm_probability=0.5, generator=sub.generator(3))
    check(
        sub.rng_digest() == before,
        "mask_tokens(..., generator=g) changed the global RNG state: pass `generator=generator` to every "
        "torch.rand / torch.bernoulli / torch.randint call.",
    )


def test_without_generator(sub, device):
    """generator=None works (global RNG)."""
    V = 50
    ids = ids_of((10, 20), V, seed=15)
    what = f"mask_tokens({describe(input_ids=ids)}, mlm_probability=0.5) without a generator"
    inputs, labels = call(sub, ids, 1, V, what, device, mlm_probability=0.5)
    check_consistent(ids, inputs, labels, V, what)
    check(bool((labels != IGNORE).any()), f"{what}: nothing was selected out of 200 positions")


def test_input_not_modified(sub, device):
    """input_ids and the mask are not modified."""
    ids = ids_of((6, 10), 40, seed=16)
    special = torch.zeros(6, 10, dtype=torch.bool)
    special[:, 0] = True
    sub.mask_tokens(ids, 1, 40, special_tokens_mask=special, mlm_probability=0.9, generator=sub.generator(6))
    check_unchanged_inputs(sub, ["input_ids", "mask_token_id", "vocab_size", "special_tokens_mask"])
