"""`lmprep new`: write a challenge folder that `lmprep validate` proves sound as written.

The folder is a small worked example (perplexity of padded sequences; a quiz on
perplexity) copied from ``lmprep/templates/new/<kind>/``, with ``challenge.toml`` rendered
from ``lmprep/templates/new/challenge.toml.j2``. Comments marked ``REPLACE:`` say what an
instructor changes to make it their own.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from grader.challenge import DIFFICULTIES, KINDS, SLUG
from lmprep import bank, notes
from lmprep.errors import LmprepError

TEMPLATES = bank.PACKAGE_DIR / "templates" / "new"
DEFAULT_TOPIC = "custom"


def default_root() -> Path:
    """Where new challenges go: ``$LMPREP_CHALLENGES``, else ``./challenges``."""
    override = os.environ.get("LMPREP_CHALLENGES")
    return Path(override) if override else Path("challenges")


def check_word(value: str, what: str) -> None:
    """A slug or topic must be lowercase words joined by '-' (it names a folder, a filter)."""
    if not SLUG.match(value):
        suggestion = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
        tail = f" (e.g. {suggestion})" if suggestion and suggestion != value else ""
        raise LmprepError(f"{value or repr(value)}: a {what} is lowercase words joined by '-'{tail}")


def next_order(root: Path) -> int:
    """One past the last ``order`` among the challenges in ``root`` and the shipped bank."""
    orders = []
    folders = {bank.content_root() / "challenges", root}
    for folder in folders:
        for toml in folder.glob("*/challenge.toml") if folder.is_dir() else ():
            try:
                order = tomllib.loads(toml.read_text(encoding="utf-8")).get("order")
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                continue  # a broken neighbour is validate's business, not new's
            if isinstance(order, int) and not isinstance(order, bool):
                orders.append(order)
    return max(orders, default=0) + 1


def template_files(kind: str) -> list[str]:
    """The example's files for ``kind``, relative to its template folder, sorted."""
    folder = TEMPLATES / kind
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    )


def new_challenge(
    slug: str,
    *,
    kind: str = "code",
    topic: str | None = None,
    difficulty: str = "easy",
    root: Path | str | None = None,
) -> dict:
    """Write the worked example for ``kind`` into ``root/slug``; refuses to overwrite.

    Returns {"path", "slug", "kind", "topic", "difficulty", "order", "files"}, where
    ``files`` are the names written, relative to ``path``.
    """
    check_word(slug, "slug")
    topic = topic or DEFAULT_TOPIC
    check_word(topic, "topic")
    if kind not in KINDS:
        raise LmprepError(f"{kind}: a kind is one of {', '.join(KINDS)}")
    if difficulty not in DIFFICULTIES:
        raise LmprepError(f"{difficulty}: a difficulty is one of {', '.join(DIFFICULTIES)}")
    root = Path(root) if root is not None else default_root()
    if root.exists() and not root.is_dir():
        raise LmprepError(f"{root}: not a folder (--dir names the challenges folder to write into)")
    target = root / slug
    if target.exists() or target.is_symlink():
        raise LmprepError(f"{target} already exists: lmprep new never overwrites; pick another slug or --dir")
    order = next_order(root)
    try:
        root.mkdir(parents=True, exist_ok=True)
        target.mkdir()  # the claim: fails if another run made it meanwhile
    except FileExistsError:
        raise LmprepError(f"{target} already exists: lmprep new never overwrites; pick another slug or --dir") from None
    except OSError as exc:
        raise LmprepError(f"cannot create {target}: {exc.strerror}") from None
    fields = {
        "slug": slug,
        "title": slug.replace("-", " ").capitalize(),
        "topic": topic,
        "topics": ", ".join(notes.topics()) or "none installed",
        "difficulty": difficulty,
        "kind": kind,
        "order": order,
    }
    files = ["challenge.toml", *template_files(kind)]
    try:
        toml = bank.templates().get_template("new/challenge.toml.j2").render(**fields)
        (target / "challenge.toml").write_text(toml, encoding="utf-8")
        for name in files[1:]:
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(TEMPLATES / kind / name, target / name)
    except OSError as exc:
        shutil.rmtree(target, ignore_errors=True)  # all or nothing: no half-written folder
        raise LmprepError(f"cannot write {target}: {exc.strerror}") from None
    return {
        "path": str(target),
        "slug": slug,
        "kind": kind,
        "topic": topic,
        "difficulty": difficulty,
        "order": order,
        "files": sorted(files),
    }
