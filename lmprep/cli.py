"""The command line: parse options, call a domain function, render the result."""

from __future__ import annotations

import json
from pathlib import Path

import click

from lmprep import __version__
from lmprep.errors import LmprepError

EXIT_CODES_HELP = """\b
Exit codes:
  0 Accepted            10 Wrong Answer          11 Runtime Error
  12 Time Limit Exceeded 13 Memory Limit Exceeded 14 Output Limit Exceeded
  15 Syntax Error       16 Interface Error       17 Forbidden API
  18 Crashed            19 Internal Error
  1 bad input (unknown challenge, missing file)   2 misuse of options"""


class LmprepGroup(click.Group):
    """Turns the project's own errors into one-line messages with exit code 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except LmprepError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=LmprepGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="lmprep")
def cli() -> None:
    """lmprep: offline, auto-graded practice for language-model interviews.

    Example: lmprep validate
    """


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--challenge", "-c", "slug", required=True, help="The challenge PATH answers.")
@click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
    help="Where device-parametrised tests run; auto adds CUDA when a GPU is present.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the full Report as JSON.")
@click.pass_context
def submit(ctx: click.Context, path: Path, slug: str, device: str, as_json: bool) -> None:
    """Grade PATH with the challenge's hidden specs and print the verdict.

    Example: lmprep submit attention.py --challenge scaled-dot-product-attention
    """
    from grader import Verdict
    from lmprep import grading, render

    report = grading.grade_file(path, slug, device=device)
    if as_json:
        click.echo(report.to_json())
    else:
        click.echo(render.report_text(report), nl=False)
    ctx.exit(Verdict(report.verdict).exit_code)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=2, show_default=True, help="Judges run at once.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.pass_context
def validate(ctx: click.Context, paths: tuple[Path, ...], jobs: int, device: str, as_json: bool) -> None:
    """Prove challenges sound: metadata, prompt, reference Accepted, stub scores
    zero, every mutant rejected. Checks every challenge when no PATH is given;
    exits 1 if any check fails.

    Example: lmprep validate challenges/lstm-cell
    """
    from lmprep import grading, render
    from lmprep.validate import validate as run_validate

    grading.check_device(device)
    checks = run_validate(list(paths) or None, jobs=jobs, device=device)
    if as_json:
        click.echo(json.dumps([c.to_dict() for c in checks], indent=2))
    else:
        click.echo(render.validate_text(checks), nl=False)
    ctx.exit(0 if all(c.ok for c in checks) else 1)


def main() -> None:
    cli(prog_name="lmprep")
