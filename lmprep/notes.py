"""The study notes in reference/: one Markdown page per topic of the guide.

A page is ``reference/<topic>.md``; its ``## `` headings are its sections, each with an id
made the way GitHub makes heading anchors (``## Top-k, top-p`` -> ``top-k-top-p``), so a
challenge's ``notes = "decoding#top-k-top-p"`` reads the same here and on GitHub.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from lmprep import bank
from lmprep.errors import LmprepError

SECTION = re.compile(r"^## +(.+?)\s*$", re.M)


@dataclass(frozen=True)
class Section:
    id: str
    title: str
    text: str  # the heading and its body, up to the next section


def notes_dir() -> Path:
    return bank.content_root() / "reference"


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def topics() -> dict[str, str]:
    """Topic name -> the page's title (its first heading)."""
    found = {}
    for page in sorted(notes_dir().glob("*.md")):
        lines = page.read_text(encoding="utf-8").splitlines()
        title = next((line.lstrip("# ").strip() for line in lines if line.startswith("#")), page.stem)
        found[page.stem] = title
    return found


def page(topic: str) -> str:
    path = notes_dir() / f"{topic}.md"
    if not path.is_file():
        known = ", ".join(topics()) or "none yet"
        raise LmprepError(f"no study notes for {topic!r} (topics: {known})")
    return path.read_text(encoding="utf-8")


def sections(topic: str) -> list[Section]:
    """The ``## `` sections of a topic's page, in order."""
    text = page(topic)
    heads = list(SECTION.finditer(text))
    return [
        Section(anchor(m.group(1)), m.group(1), text[m.start() : heads[i + 1].start() if i + 1 < len(heads) else None])
        for i, m in enumerate(heads)
    ]


def read(link: str) -> str:
    """The Markdown for ``topic`` (the whole page) or ``topic#section`` (that section)."""
    topic, _, section_id = link.partition("#")
    if not section_id:
        return page(topic)
    found = {s.id: s for s in sections(topic)}
    if section_id not in found:
        raise LmprepError(f"no section {section_id!r} in the {topic} notes (sections: {', '.join(found)})")
    return found[section_id].text
