"""Turning results into text for a terminal (80 columns; colour only on a TTY)."""

from __future__ import annotations

import contextlib
import shutil
import sys

import click

from grader import Report
from grader.report import OUTCOME_VERDICTS
from lmprep import bank

VERDICT_COLOURS = {"Accepted": "green", "Internal Error": "magenta"}
MARKS = {"passed": ("✓", "green"), "skipped": ("·", "yellow")}
LABELS = {"passed": "", "skipped": "skipped", **{o.value: v.value for o, v in OUTCOME_VERDICTS.items()}}


def _env():
    env = bank.templates()
    env.filters.update(
        verdict_style=lambda v: click.style(v, fg=VERDICT_COLOURS.get(v, "red"), bold=True),
        mark=lambda o: click.style(*MARKS.get(o, ("✗", "red"))),
        outcome_label=lambda o: click.style(LABELS.get(o, o), fg="red") if o not in MARKS else LABELS[o],
        fixed=lambda text, width: str(text).ljust(width),
        status_style=lambda st: click.style(st, fg={"solved": "green", "in progress": "yellow"}.get(st)),
        ok_mark=lambda ok: click.style("ok", fg="green") if ok else click.style("FAIL", fg="red", bold=True),
    )
    return env


def report_text(report: Report, verbose: bool = False) -> str:
    """The verdict, the tests that failed (every test with ``verbose``), the first failure."""
    return (
        _env()
        .get_template("report.txt.j2")
        .render(
            report=report,
            verdict=report.verdict,
            failure=report.first_failure,
            verbose=verbose,
            limit=1000 if verbose else 12,
        )
    )


def validate_text(checks, feedback: bool = False) -> str:
    return _env().get_template("validate.txt.j2").render(checks=checks, feedback=feedback)


def template(name: str, **context) -> str:
    return _env().get_template(name).render(**context)


def markdown(text: str) -> None:
    """Print Markdown for a terminal: styled on a TTY, plain text when piped."""
    from rich.console import Console
    from rich.markdown import Markdown

    tty = sys.stdout.isatty()
    width = min(shutil.get_terminal_size((80, 24)).columns, 100) if tty else 80
    console = Console(file=sys.stdout, width=width, force_terminal=tty, no_color=not tty, highlight=False)
    if tty:
        console.print(Markdown(text))
        return
    with console.capture() as captured:
        console.print(Markdown(text))
    click.echo("\n".join(line.rstrip() for line in captured.get().splitlines()))


@contextlib.contextmanager
def grading_status(message: str = "Grading"):
    """A spinner on stderr while the judge works, only when a person is watching."""
    if not sys.stderr.isatty():
        yield
        return
    from rich.console import Console

    with Console(stderr=True).status(f"{message}…"):
        yield


def bar(share: float, width: int = 20) -> str:
    """A text bar for a share in [0, 1]."""
    filled = round(max(0.0, min(1.0, share)) * width)
    return "█" * filled + "·" * (width - filled)


class _ClassProgress:
    """What `lmprep grade` reports while it grades: a progress bar on a TTY, else nothing."""

    def __init__(self, progress, description: str):
        self.progress, self.description, self.task = progress, description, None

    def start(self, total: int) -> None:
        if self.progress is not None:
            self.task = self.progress.add_task(self.description, total=total)

    def advance(self, row: dict) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task)


@contextlib.contextmanager
def class_progress(description: str, enabled: bool = True):
    """A progress bar on stderr (only when a person is watching) for a batch of gradings."""
    if not (enabled and sys.stderr.isatty()):
        yield _ClassProgress(None, description)
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        yield _ClassProgress(progress, description)
