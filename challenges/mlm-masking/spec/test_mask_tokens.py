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

from grader.spec import (
    Mistake,
    check,
    check_unchanged_inputs,
    describe,
    describe_value,
    expect_raises,
    fail,
    lazy,
    public,
    remote_meta,
)

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
        f"{what}: mask_tokens should return a pair (inputs, labels), got {describe_value(out)}",
    )
    inputs, labels = out
    for name, t, dtype in (("inputs", inputs, ids.dtype), ("labels", labels, torch.int64)):
        check(hasattr(t, "detach"), f"{what}: {name} should be a torch tensor, got {describe_value(t)}")
        check(
            list(t.shape) == list(ids.shape),
            f"{what}: {name} has shape {list(t.shape)}, expected the input's shape {list(ids.shape)}",
        )
        same_as_input = name == "labels" and t.dtype == ids.dtype
        check(
            t.dtype == dtype,
            f"{what}: {name} has dtype {t.dtype}, expected {dtype}"
            + (" (labels are always int64)" if name == "labels" else " (the input's dtype)"),
            diagnosis="the labels keep input_ids' dtype: labels are always int64" if same_as_input else "",
        )
        if device is not None:
            meta = remote_meta(t)
            where = meta.device if meta is not None else "cpu"
            check(where.startswith(device), f"{what}: {name} is on {where}, but input_ids was on {device}")
    return inputs.cpu(), labels.cpu()


def within_5_sigma(count, n, q):
    """Whether ``count`` successes of ``n`` fit Binomial(n, q) within mu +/- 5 sigma."""
    return abs(count - n * q) <= 5 * math.sqrt(n * q * (1 - q)) + 0.5


def diagnose_unselected_changed(ids, inputs, labels, p, mask_id):
    """Inputs changed where the label is -100: inverted labels, or labels on the masked only?"""
    labelled = labels != IGNORE
    n = ids.numel()
    if p is None or n == 0:
        return ""
    if within_5_sigma(int((~labelled).sum()), n, p) and torch.equal(labels[labelled], ids[labelled]):
        return (
            "the labels are inverted: -100 goes on the positions that are not selected, the original id on the selected"
        )
    if (
        mask_id is not None
        and bool((inputs[labelled] == mask_id).all())
        and within_5_sigma(int(labelled.sum()), n, 0.8 * p)
    ):
        return (
            "only the positions replaced by the mask token are labelled: the selected positions given a random "
            "id or left unchanged keep their original id as label too"
        )
    return ""


def check_consistent(ids, inputs, labels, vocab, what, special=None, p=None, mask_id=None):
    """The exact contract: labels are -100 or the original; unselected inputs are the original;
    selected inputs are valid ids; special positions are never selected. ``p`` and ``mask_id``,
    where given, let a failure name the likely mistake."""
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
            "from the original id: only selected positions may be replaced.",
            diagnosis=lazy(diagnose_unselected_changed, ids, inputs.long(), labels, p, mask_id),
        )
    out_of_range = selected & ((inputs < 0) | (inputs >= vocab))
    if out_of_range.any():
        bad = inputs[out_of_range][0].item()
        top = int(inputs[selected].max()) == vocab and int(inputs[selected].min()) >= 0
        fail(
            f"{what}: a selected position holds id {bad}, outside [0, vocab_size={vocab}).",
            diagnosis="a random id can be vocab_size itself: draw from [0, vocab_size) (torch.randint's high is "
            "exclusive)"
            if top
            else "",
        )
    if special is not None:
        hit = selected & special.bool()
        if hit.any():
            fail(
                f"{what}: {int(hit.sum())} special-token positions were selected (label != -100); positions "
                "where special_tokens_mask is True / 1 must never be selected."
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
    check_consistent(ids, inputs, labels, V, what, p=p, mask_id=4)
    n = ids.numel()
    got = int((labels != IGNORE).sum())
    mu, sigma = n * p, math.sqrt(n * p * (1 - p))
    check(
        abs(got - mu) <= 5 * sigma,
        f"{what}: {got} of {n} positions have a label other than -100 (are selected), expected "
        f"{mu:.0f} +/- {5 * sigma:.0f} (mu +/- 5 sigma); {int((inputs != ids).sum())} inputs were changed.",
        diagnosis=lazy(diagnose_rate, ids, inputs, labels, p),
    )


def diagnose_rate(ids, inputs, labels, p):
    """A selection count far from n * p: the likely mistake behind it, or ""."""
    labelled = labels != IGNORE
    n = ids.numel()
    if bool(labelled.all()) and p < 1:
        return "every label is the original id: the positions that are not selected must have label -100"
    if ids.dim() == 2 and ids.shape[0] > 1 and bool((labelled == labelled[0]).all()):
        return "one selection pattern is shared by all rows: draw an independent coin for every position"
    kept = int((inputs[labelled] == ids[labelled]).sum())
    if within_5_sigma(int(labelled.sum()), n, 0.9 * p) and kept < 0.02 * max(int(labelled.sum()), 1):
        return (
            "the selected positions left unchanged get label -100: every selected position keeps its original "
            "id as label, the 10% left unchanged included"
        )
    return ""


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
        + (f" Ids {missing} never appeared." if missing else ""),
        diagnosis=lazy(diagnose_split, counts, V, mask_id, orig),
    )


SPLIT_MISTAKES = [
    (
        {"mask": 0.8, "random": 0.02, "keep": 0.18},
        "the random id is drawn with probability 0.1 of the 20% left, so only 2% of the selected get a random "
        "id: it is half of them (10% random id, 10% unchanged)",
    ),
    (
        {"mask": 0.1, "random": 0.8, "keep": 0.1},
        "the mask token and the random id are swapped: 80% of the selected become a random id and 10% the mask "
        "token, where it is 80% the mask token and 10% a random id",
    ),
    (
        {"mask": 0.8, "random": 0.1, "keep": 0.1, "high": -1},
        "the random ids never reach vocab_size - 1: draw from all of [0, vocab_size) (torch.randint's high is "
        "exclusive)",
    ),
]


def diagnose_split(counts, vocab, mask_id, orig):
    """The split whose probabilities fit the observed ids (chi-square), or ""."""
    for split, why in SPLIT_MISTAKES:
        high = vocab + split.get("high", 0)
        probs = [split["random"] / high if i < high else 0.0 for i in range(vocab)]
        probs[mask_id] += split["mask"]
        probs[orig] += split["keep"]
        if chi2_pvalue(counts, probs) >= P_MIN:
            return why
    return ""


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
    exact = distinct == 1 and rows[round(p * T)] == B
    check(
        pv >= P_MIN,
        f"{what}: the number of selected positions per row does not follow Binomial({T}, {p}) (chi-square "
        f"p-value {pv:.2e}; {distinct} distinct per-row counts seen).",
        diagnosis="exactly round(p * T) positions are selected in every row: select each position independently "
        "with probability mlm_probability (e.g. torch.bernoulli)"
        if exact
        else "",
    )
    cols = selected.sum(0).double()
    stat = float(((cols - B * p) ** 2).sum() / (B * p * (1 - p)))
    df = torch.tensor(T / 2, dtype=torch.float64)
    pv = float(torch.special.gammaincc(df, torch.tensor(stat / 2, dtype=torch.float64)))
    shared = bool((selected == selected[0]).all())
    check(
        pv >= P_MIN,
        f"{what}: the number of selected positions per column is not Binomial({B}, {p}) (dispersion "
        f"chi-square p-value {pv:.2e}).",
        diagnosis="one selection pattern is shared by all rows: draw an independent coin for every position"
        if shared
        else "",
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
    exact = counts[round(p * T)] == calls
    check(
        pv >= P_MIN,
        f"{calls} calls of mask_tokens(input_ids [{T}], mlm_probability={p}) with seeds 0..{calls - 1}: the "
        f"number of selected positions does not follow Binomial({T}, {p}) (chi-square p-value {pv:.2e}; "
        f"{sum(c > 0 for c in counts)} distinct counts seen).",
        diagnosis=f"exactly round(p * n) = {round(p * T)} positions are selected in every call: each position "
        "is selected independently, so the count varies from call to call"
        if exact
        else "",
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
    try:
        check_consistent(ids, inputs, labels, V, what, special)
    except Mistake as mistake:
        fail(str(mistake), diagnosis=lazy(diagnose_special, sub, ids, labels, special, kind))
    expected = ids.masked_fill(special, IGNORE)
    check(
        torch.equal(labels, expected),
        f"{what}: with mlm_probability=1 every non-special position is selected and no special one; "
        f"{int((labels != expected).sum())} labels are wrong.",
    )


def diagnose_special(sub, ids, labels, special, kind):
    """Special positions selected: the mask ignored, or a 0/1 mask used as an index?"""
    if bool((labels[special] == ids[special]).all()):
        return "special_tokens_mask is ignored: positions where it is True / 1 must never be selected"
    if kind != "bool":
        _, bool_labels = sub.mask_tokens(
            ids, 3, 50, special_tokens_mask=special, mlm_probability=1.0, generator=sub.generator(9)
        )
        if torch.equal(bool_labels.cpu(), ids.masked_fill(special, IGNORE)):
            return (
                "a 0/1 integer special_tokens_mask is used as an index (it gathers indices 0 and 1): convert it "
                "with .bool() first"
            )
    return ""


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
    check(
        bool((labels == IGNORE).all()),
        f"{what}: every label should be -100 (nothing selected), but {int((labels != IGNORE).sum())} are not",
        diagnosis="every label is the original id: the positions that are not selected must have label -100"
        if torch.equal(labels, ids.long())
        else "",
    )
    check(torch.equal(inputs, ids), f"{what}: inputs should equal input_ids (nothing selected)")
    what = f"mask_tokens({describe(input_ids=ids)}, mask_token_id=0, vocab_size={V}, mlm_probability=1.0)"
    inputs, labels = call(sub, ids, 0, V, what, device, mlm_probability=1.0, generator=sub.generator(2))
    check_consistent(ids, inputs, labels, V, what)
    check(torch.equal(labels, ids), f"{what}: every position should be selected, so labels == input_ids")


@pytest.mark.parametrize("p", [-0.1, 1.5, float("nan")], ids=["-0.1", "1.5", "nan"])
def test_invalid_probability_raises(sub, p):
    """mlm_probability outside [0, 1]: ValueError."""
    call = f"mask_tokens(torch.tensor([[5, 6, 7]]), 0, 10, mlm_probability={p})"
    try:
        expect_raises(ValueError, sub.mask_tokens, torch.tensor([[5, 6, 7]]), 0, 10, mlm_probability=p, call=call)
    except Mistake as mistake:
        returned = "returned" in str(mistake)
        fail(
            str(mistake),
            diagnosis="an mlm_probability outside [0, 1] (or nan) is not rejected: raise ValueError"
            if returned
            else "",
        )


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
        f"{what}: two calls with generators seeded the same way gave different results.",
        diagnosis=lazy(diagnose_global_rng, sub, ids),
    )
    c = call(sub, ids, 2, V, what, device, mlm_probability=0.3, generator=sub.generator(43))
    check(
        not (torch.equal(a[0], c[0]) and torch.equal(a[1], c[1])),
        f"{what}: generators with different seeds gave identical results: is `generator` used at all?",
    )


def diagnose_global_rng(sub, ids):
    """The global RNG moved during a call given a generator: a draw ignored ``generator``."""
    before = sub.rng_digest()
    sub.mask_tokens(ids, 2, 100, mlm_probability=0.3, generator=sub.generator(42))
    if sub.rng_digest() != before:
        return "a random draw uses the global RNG instead of `generator`: pass generator= to every draw"
    return ""


def test_global_rng_untouched(sub, device):
    """A generator call leaves the global RNG alone."""
    ids = ids_of((8, 30), 50, seed=14)
    before = sub.rng_digest()
    sub.mask_tokens(ids, 1, 50, mlm_probability=0.5, generator=sub.generator(3))
    check(
        sub.rng_digest() == before,
        "mask_tokens(input_ids int64[8, 30], 1, 50, mlm_probability=0.5, generator=g) changed the global RNG state.",
        diagnosis="a random draw uses the global RNG instead of `generator`: pass generator= to every torch.rand / "
        "torch.bernoulli / torch.randint call",
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
    try:
        check_unchanged_inputs(sub, ["input_ids", "mask_token_id", "vocab_size", "special_tokens_mask"])
    except Mistake as mistake:
        fail(
            str(mistake),
            diagnosis="the replacements are written into the caller's tensor in place: build new tensors "
            "(clone, or masked_fill / torch.where rather than their in-place forms)",
        )
