"""The study notes in reference/: one Markdown page per topic of the guide."""

from __future__ import annotations

from pathlib import Path

from lmprep import bank
from lmprep.errors import LmprepError


def notes_dir() -> Path:
    return bank.content_root() / "reference"


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
