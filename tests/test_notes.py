"""The study notes: pages, sections by GitHub-style anchors, `lmprep learn`, and every
challenge's `notes` link pointing at a page and section that exist."""

import json

import pytest
from click.testing import CliRunner

from lmprep import bank, notes
from lmprep.cli import cli
from tests.conftest import ROOT

PAGE = """# Decoding and sampling

Intro.

## Greedy

Take the argmax.

## Top-k, top-p

Keep the head of the distribution.

### A worked example

Numbers.
"""


@pytest.fixture
def reference(tmp_path, monkeypatch):
    monkeypatch.setattr(bank, "content_root", lambda: tmp_path)
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "decoding.md").write_text(PAGE)
    return tmp_path / "reference"


@pytest.mark.parametrize(
    "heading,expected",
    [
        ("Top-k, top-p", "top-k-top-p"),
        ("Entropy and KL", "entropy-and-kl"),
        ("Encoder-decoder vs decoder-only", "encoder-decoder-vs-decoder-only"),
        ("Bengio's NPLM", "bengios-nplm"),
        ("The `kv` cache (2 × L)", "the-kv-cache-2--l"),
    ],
)
def test_anchors_are_made_like_githubs(heading, expected):
    assert notes.anchor(heading) == expected


def test_sections_run_to_the_next_second_level_heading(reference):
    found = notes.sections("decoding")
    assert [s.id for s in found] == ["greedy", "top-k-top-p"]
    assert found[1].text.startswith("## Top-k, top-p") and "### A worked example" in found[1].text
    assert notes.read("decoding#greedy") == "## Greedy\n\nTake the argmax.\n\n"
    assert notes.read("decoding") == PAGE


def test_learn_renders_a_page_or_a_section_and_lists_topics(reference):
    runner = CliRunner()
    section = runner.invoke(cli, ["learn", "decoding#greedy"])
    assert section.exit_code == 0 and "Take the argmax." in section.output and "Keep the head" not in section.output
    listing = runner.invoke(cli, ["learn"])
    assert listing.output.splitlines() == ["decoding       Decoding and sampling", "               greedy, top-k-top-p"]
    data = json.loads(runner.invoke(cli, ["learn", "--json"]).output)
    assert data == {"decoding": {"title": "Decoding and sampling", "sections": ["greedy", "top-k-top-p"]}}


def test_an_unknown_section_or_topic_is_one_clear_line(reference):
    result = CliRunner().invoke(cli, ["learn", "decoding#beam"])
    assert result.exit_code == 1
    assert result.output == "Error: no section 'beam' in the decoding notes (sections: greedy, top-k-top-p)\n"
    other = CliRunner().invoke(cli, ["learn", "ngram"])
    assert other.output == "Error: no study notes for 'ngram' (topics: decoding)\n"


PAGES = ["probability", "tokenization", "decoding", "ngram", "neural", "transformer", "pretraining"]


def test_every_topic_of_the_guide_has_a_page():
    assert sorted(notes.topics()) == sorted(PAGES)
    for topic in PAGES:
        text = notes.page(topic)
        assert len(notes.sections(topic)) >= 4, f"{topic}: too few sections"
        assert "pitfall" in text.lower(), f"{topic}: no interview pitfalls"


@pytest.mark.parametrize("path", bank.challenge_paths(ROOT / "challenges"), ids=lambda p: p.name)
def test_every_challenge_links_to_an_existing_page_and_section(path):
    ch = bank.load(path)
    topic, _, section = ch.notes.partition("#")
    assert topic and section, f"{ch.slug}: notes = {ch.notes!r} should be 'page#section'"
    assert section in [s.id for s in notes.sections(topic)], f"{ch.slug}: no section {section!r} in {topic}.md"
