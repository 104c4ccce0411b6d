"""Grading a learner's file: input checks in front of `grader.grade`."""

from __future__ import annotations

from pathlib import Path

from grader import Report, grade
from grader.runner import cuda_requested_but_missing
from lmprep import bank
from lmprep.errors import LmprepError


def check_submission_file(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise LmprepError(f"{path}: no such file")
    if not path.is_file():
        raise LmprepError(f"{path}: not a file")
    if path.suffix != ".py":
        raise LmprepError(f"{path}: a submission is a Python file (.py)")
    return path


def check_device(device: str) -> None:
    if cuda_requested_but_missing(device):
        raise LmprepError("--device cuda: no NVIDIA GPU on this machine (use --device auto or cpu)")


def grade_file(path: str | Path, slug: str, device: str = "auto", public_only: bool = False) -> Report:
    """Grade the file at ``path`` as a submission to challenge ``slug``."""
    path = check_submission_file(path)
    challenge = bank.get(slug)
    if challenge.kind != "code":
        raise LmprepError(f"{slug} is a {challenge.kind} challenge, not graded from a Python file")
    check_device(device)
    return grade(challenge.path, path, device=device, public_only=public_only)
