"""Every challenge in the bank is sound: `lmprep validate` passes on each."""

import re

import pytest

from lmprep import bank
from lmprep.validate import validate
from tests.conftest import ROOT

PATHS = bank.challenge_paths(ROOT / "challenges")


def test_the_bank_holds_the_pilot_challenges():
    assert {"scaled-dot-product-attention", "lstm-cell", "temperature-softmax"} <= {p.name for p in PATHS}


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_challenge_validates(path):
    (check,) = validate([path], jobs=2, device="cpu")
    assert check.ok, "\n".join(check.problems)
    assert len(check.mutants) >= 5
    hints = re.findall(r"^## Hint (\d+)", (path / "hints.md").read_text(), re.M)
    assert hints == ["1", "2", "3"]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_prompt_states_the_entry_points_and_renders(path):
    ch = bank.load(path)
    text = bank.render_prompt(ch)
    assert "{{" not in text and "{%" not in text
    for name in ch.entry_points:
        assert name in text, f"{path.name}: the prompt never names `{name}`"
