"""The challenge bank: where the challenges live, loading them, rendering their prompts.

In a checkout the content sits beside the packages (``challenges/``, ``reference/``);
in an installed wheel it is shipped inside the package as ``lmprep/_content/``.
``LMPREP_CHALLENGES`` points at another challenges folder (an instructor's own).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path

import jinja2

from grader import challenge as challenge_mod
from grader import quiz
from grader.challenge import Challenge, ChallengeError
from lmprep.errors import LmprepError, UnknownChallenge

PACKAGE_DIR = Path(__file__).resolve().parent


def content_root() -> Path:
    """The folder that holds ``challenges/`` and ``reference/``."""
    shipped = PACKAGE_DIR / "_content"
    return shipped if shipped.is_dir() else PACKAGE_DIR.parent


def challenges_dir() -> Path:
    override = os.environ.get("LMPREP_CHALLENGES")
    return Path(override) if override else content_root() / "challenges"


def challenge_paths(root: Path | None = None) -> list[Path]:
    root = root or challenges_dir()
    if not root.is_dir():
        raise LmprepError(f"no challenges folder at {root}")
    return sorted(p for p in root.iterdir() if (p / "challenge.toml").is_file())


def load(path: Path) -> Challenge:
    try:
        return challenge_mod.load(path)
    except ChallengeError as exc:
        raise LmprepError(str(exc)) from None


def questions(ch: Challenge) -> list[quiz.Question]:
    """A quiz's questions, checked."""
    try:
        return quiz.load_questions(ch.path)
    except ChallengeError as exc:
        raise LmprepError(str(exc)) from None


def all_challenges() -> list[Challenge]:
    """Every challenge, in curriculum order."""
    return sorted((load(p) for p in challenge_paths()), key=lambda c: (c.order, c.slug))


def get(slug: str) -> Challenge:
    path = challenges_dir() / slug
    if not (path / "challenge.toml").is_file():
        known = ", ".join(p.name for p in challenge_paths()) or "none"
        raise UnknownChallenge(f"unknown challenge {slug!r} (known: {known})")
    return load(path)


@cache
def templates() -> jinja2.Environment:
    """The package's own templates (lmprep/templates/*.j2)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("lmprep", "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["zip"] = zip
    return env


def render_prompt(ch: Challenge) -> str:
    """The challenge's statement: prompt.md rendered with its metadata."""
    path = ch.path / "prompt.md"
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    try:
        template = env.from_string(path.read_text(encoding="utf-8"))
        text = template.render(challenge=ch.to_dict(), **ch.to_dict())
    except jinja2.TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f"{path}:{line}" if line else str(path)
        raise LmprepError(f"{where}: the prompt does not render: {exc}") from None
    if ch.kind == "quiz":  # the questions follow the statement
        text = text.rstrip("\n") + "\n" + templates().get_template("questions.md.j2").render(questions=questions(ch))
    return text
