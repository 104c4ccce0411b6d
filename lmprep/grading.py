"""Grading a learner's file: input checks in front of `grader.grade`."""

from __future__ import annotations

from pathlib import Path

from grader import Report, grade
from grader.runner import cuda_requested_but_missing
from lmprep import bank, paths, workspace
from lmprep.errors import LmprepError

WHAT = {"code": "a submission is a Python file (.py)", "quiz": "a quiz's answers are a TOML file (.toml)"}


def check_submission_file(path: str | Path, kind: str | None = None) -> Path:
    """``path`` exists and is a file; with ``kind``, it has that kind's suffix."""
    path = Path(path)
    if not path.exists():
        raise LmprepError(f"{path}: no such file")
    if not path.is_file():
        raise LmprepError(f"{path}: not a file")
    if kind is not None and path.suffix != workspace.SUFFIXES[kind]:
        raise LmprepError(f"{path}: {WHAT[kind]}")
    return path


def check_device(device: str) -> None:
    if cuda_requested_but_missing(device):
        raise LmprepError("--device cuda: no NVIDIA GPU on this machine (use --device auto or cpu)")


def hidden_paths(db: str | Path | None = None) -> list[Path]:
    """What a submission must never read: every challenges folder lmprep knows of (the
    bank in use and the one shipped with lmprep) and the progress database with its
    journal files (not the whole folder it is in: ``$LMPREP_HOME`` may hold Python
    itself). The grader adds the graded challenge's own folder and its work files."""
    database = paths.database(db).expanduser().resolve()
    journals = [database.with_name(database.name + suffix) for suffix in ("-wal", "-shm", "-journal")]
    found = [bank.challenges_dir(), bank.content_root() / "challenges", database, *journals]
    return list(dict.fromkeys(p.expanduser().resolve() for p in found))


def grade_file(
    path: str | Path, slug: str, device: str = "auto", public_only: bool = False, db: str | Path | None = None
) -> Report:
    """Grade the file at ``path`` as a submission (or a quiz's answer sheet) to ``slug``."""
    challenge = bank.get(slug)
    path = check_submission_file(path, challenge.kind)
    if challenge.kind == "quiz" and public_only:
        raise LmprepError(f"{slug} is a quiz: it has no examples to run; `lmprep submit` grades your answers")
    check_device(device)
    return grade(challenge.path, path, device=device, public_only=public_only, protected=hidden_paths(db))
