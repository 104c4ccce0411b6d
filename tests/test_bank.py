"""Every challenge in the bank is sound: `lmprep validate` passes on each."""

import re

import pytest

from lmprep import bank
from lmprep.validate import validate
from tests.conftest import ROOT

PATHS = bank.challenge_paths(ROOT / "challenges")


def test_the_bank_holds_the_catalog():
    code = {
        "stable-softmax", "chain-rule-log-prob", "entropy-cross-entropy-kl", "cross-entropy-loss",
        "bpe-tokenizer", "wordpiece-tokenizer", "unigram-segmentation",
        "temperature-softmax", "greedy-decoding", "top-k-top-p", "sampling-generate", "kv-cache",
        "ngram-lm", "kneser-ney", "neural-ngram-lm", "rnn-forward", "vanishing-gradients", "lstm-cell",
        "gru-cell", "scaled-dot-product-attention", "multi-head-attention", "encoder-decoder-masks",
        "positional-encoding", "rotary-embedding", "decoder-block", "mini-gpt", "online-softmax-attention",
        "mlm-masking", "span-corruption", "scaling-laws",
    }  # fmt: skip
    quizzes = {
        "quiz-ngram-vs-rnn", "quiz-vanishing-gradients", "quiz-entropy-kl", "quiz-tokenization",
        "quiz-sampling", "quiz-transformer", "quiz-llm-families",
    }  # fmt: skip
    kinds = {p.name: bank.load(p).kind for p in PATHS}
    assert code <= {s for s, k in kinds.items() if k == "code"}
    assert quizzes <= {s for s, k in kinds.items() if k == "quiz"}
    # a second, differently written correct solution for the challenges that came with issues 15-17
    assert {
        "neural-ngram-lm", "rnn-forward", "vanishing-gradients", "gru-cell",  # issue 15
        "multi-head-attention", "encoder-decoder-masks", "positional-encoding", "rotary-embedding",  # issue 16
        "decoder-block", "mini-gpt", "online-softmax-attention",  # issue 17
    } <= {p.parent.name for p in CORRECT}  # fmt: skip


def verdicts(check) -> dict[str, str]:
    return {"reference": check.reference, "stub": check.stub, **{m.name: m.verdict for m in check.mutants}}


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_challenge_validates_warm_and_cold_alike(path):
    """Warm grading (forked by the grading server) is the default; cold is the reference
    behaviour: the same verdict for the reference, the stub and every mutant."""
    (check,) = validate([path], jobs=2, device="cpu", warm=True)
    assert check.ok, "\n".join(check.problems)
    (cold,) = validate([path], jobs=2, device="cpu", warm=False)
    assert cold.ok, "\n".join(cold.problems)
    assert verdicts(check) == verdicts(cold)
    if bank.load(path).kind == "quiz":  # the key scored full marks, blank and empty sheets zero
        assert check.reference == "Accepted" and check.stub.startswith("0/")
        return
    assert len(check.mutants) >= 5
    # the first failure teaches: each mutant's says the mistake its docstring's "Diagnosis:"
    # line names (a mutant that runs out of time or calls a forbidden API may have none: no
    # check fails for it, and its verdict names what it did)
    exempt = ("Time Limit Exceeded", "Forbidden API")
    undiagnosed = [m.name for m in check.mutants if not m.expected and m.verdict not in exempt]
    assert not undiagnosed, f"mutants with no 'Diagnosis:' line: {undiagnosed}"
    assert all(m.diagnosed for m in check.mutants if m.expected)  # (validate's problems say which)
    assert {m.name: m.diagnosis for m in check.mutants} == {m.name: m.diagnosis for m in cold.mutants}
    hints = re.findall(r"^## Hint (\d+)", (path / "hints.md").read_text(), re.M)
    assert hints == ["1", "2", "3"]


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.name)
def test_prompt_states_the_entry_points_and_renders(path):
    ch = bank.load(path)
    text = bank.render_prompt(ch)
    assert "{{" not in text and "{%" not in text
    for name in ch.entry_points:
        assert name in text, f"{path.name}: the prompt never names `{name}`"


# second, differently written correct solutions (each file's docstring says how it differs)
CORRECT = sorted((ROOT / "tests" / "data" / "correct").glob("*/*.py"))


@pytest.mark.parametrize("answer", CORRECT, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_a_differently_written_correct_solution_is_accepted_with_full_marks(answer):
    from grader import grade
    from lmprep.grading import hidden_paths

    report = grade(ROOT / "challenges" / answer.parent.name, answer, device="cpu", protected=hidden_paths())
    assert report.verdict == "Accepted" and report.score == report.max_score, report.message
