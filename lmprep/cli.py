"""The command line: parse options, call a domain function, render the result."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from lmprep import __version__
from lmprep.errors import LmprepError

if TYPE_CHECKING:
    from lmprep.learner import Learner

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


DEVICE = click.option(
    "--device",
    type=click.Choice(["auto", "cpu", "cuda"]),
    default="auto",
    show_default=True,
    help="Where device-parametrised tests run; auto adds CUDA when a GPU is present.",
)
JSON = click.option("--json", "as_json", is_flag=True, help="Print data as JSON.")


@click.group(cls=LmprepGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="lmprep")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), help="Progress database to use.")
@click.option("--cold", is_flag=True, help="Grade without the warm grading server (as LMPREP_WARM=0 does).")
@click.pass_context
def cli(ctx: click.Context, db: Path | None, cold: bool) -> None:
    """lmprep: offline, auto-graded practice for language-model interviews.

    \b
    The loop: lmprep next     (statement + a file to edit)
              lmprep test     (the public examples)
              lmprep submit   (hidden specs, recorded)
              lmprep progress

    Example: lmprep next --topic transformer
    """
    import os

    from lmprep.learner import Learner

    if cold:
        os.environ["LMPREP_WARM"] = "0"
    ctx.obj = Learner(db)


def learner() -> Learner:
    return click.get_current_context().obj


def echo_json(data) -> None:
    click.echo(json.dumps(data, indent=2, default=str))


def show_started(started, as_json: bool) -> None:
    from lmprep import bank, render

    ch = started.challenge
    if as_json:
        echo_json(
            {
                **ch.to_dict(),
                "file": str(started.path),
                "created": started.created,
                "locked_by": started.locked_by,
                "review": started.review and json.loads(json.dumps(started.review, default=lambda t: t.isoformat())),
            }
        )
        return
    if started.review:
        show_review(started)
        return
    render.markdown(bank.render_prompt(ch))
    if ch.notes:
        click.echo(f"\nStudy notes: lmprep learn {ch.notes}")
    if started.locked_by:
        click.secho(f"Note: prerequisites not solved yet: {', '.join(started.locked_by)}", fg="yellow")
    if ch.kind == "quiz":
        verb = "Wrote the answer sheet to" if started.created else "Your answers:"
        then = f"Fill it in, then: lmprep submit  /  or answer one by one: lmprep quiz {ch.slug}"
    else:
        verb = "Wrote the stub to" if started.created else "Your file:"
        then = "Edit it, then: lmprep test  /  lmprep submit"
    click.echo(f"\n{verb} {started.path}\n{then}")


def show_review(started) -> None:
    """A review's why (due since, last rating), what to solve, and where the old file went."""
    from lmprep import bank, render

    ch, info = started.challenge, started.review
    click.echo(render.template("review_started.txt.j2", ch=ch, r=info, path=started.path), nl=False)
    if ch.kind == "quiz":
        questions = [q for q in bank.questions(ch) if q.id in info["questions"]]
        render.markdown(bank.templates().get_template("questions.md.j2").render(questions=questions))
    click.echo(render.template("review_then.txt.j2", ch=ch, r=info, path=started.path), nl=False)


@cli.command(name="next")
@click.option("--topic", help="Only challenges of this topic.")
@click.option("--difficulty", type=click.Choice(["easy", "medium", "hard"]), help="Only this difficulty.")
@click.option("--new", "new", is_flag=True, help="Skip due reviews: new material (or the challenge in progress).")
@JSON
def next_(topic: str | None, difficulty: str | None, new: bool, as_json: bool) -> None:
    """Start a due review (see `lmprep review`), else resume the challenge in progress,
    else start the first unlocked one.

    Prints the statement and writes the stub (a quiz: the answer sheet) to your
    workspace, never over your work: a review keeps your previous file beside it.

    Example: lmprep next --difficulty easy
    """
    started = learner().next(topic, difficulty, new)
    if started is None:
        click.echo("Nothing left to start here: every matching challenge is solved or skipped.")
        return
    show_started(started, as_json)


@cli.command()
@click.argument("slug")
@JSON
def start(slug: str, as_json: bool) -> None:
    """Start (or resume) the challenge SLUG, whatever the curriculum order.

    Example: lmprep start lstm-cell
    """
    show_started(learner().start(slug), as_json)


@cli.command()
@click.argument("slug")
@JSON
def show(slug: str, as_json: bool) -> None:
    """Print a challenge's statement without starting it.

    Example: lmprep show temperature-softmax
    """
    from lmprep import bank, render

    ch = bank.get(slug)
    if as_json:
        echo_json({**ch.to_dict(), "statement": bank.render_prompt(ch)})
    else:
        render.markdown(bank.render_prompt(ch))


@cli.command(name="list")
@click.option("--topic", help="Only this topic.")
@click.option("--difficulty", type=click.Choice(["easy", "medium", "hard"]))
@click.option("--status", type=click.Choice(["new", "in progress", "solved", "skipped"]))
@JSON
def list_(topic: str | None, difficulty: str | None, status: str | None, as_json: bool) -> None:
    """List the challenges in curriculum order with your status on each.

    Example: lmprep list --status solved
    """
    from lmprep import bank, render
    from lmprep.store import ChallengeProgress

    progress = learner().progress()
    rows = []
    for ch in bank.all_challenges():
        state = progress.get(ch.slug, ChallengeProgress(ch.slug))
        if (topic and ch.topic != topic) or (difficulty and ch.difficulty != difficulty):
            continue
        if status and state.status != status:
            continue
        rows.append(
            {
                **ch.to_dict(),
                "status": state.status,
                "attempts": state.attempts,
                "grader_errors": state.grader_errors,
                "hints": state.hints,
            }
        )
    if as_json:
        echo_json(rows)
    else:
        click.echo(render.template("list.txt.j2", rows=rows), nl=False)


def print_report(report, as_json: bool, verbose: bool = False, rated: list | None = None) -> None:
    """The Report (and, after a submit, the review cards it rated), then exit with the
    verdict's code."""
    from grader import Verdict
    from lmprep import render

    if as_json:
        click.echo(report.to_json())
    else:
        click.echo(render.report_text(report, verbose), nl=False)
        if rated:
            click.echo(render.template("review_rated.txt.j2", cards=rated, now=learner().now()), nl=False)
    click.get_current_context().exit(Verdict(report.verdict).exit_code)


FILE = click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
CHALLENGE = click.option("--challenge", "-c", "slug", help="The challenge PATH answers (inferred from the file).")


@cli.command(epilog=EXIT_CODES_HELP)
@FILE
@CHALLENGE
@DEVICE
@click.option("--json", "as_json", is_flag=True, help="Print the full Report as JSON.")
@click.option("--verbose", "-v", is_flag=True, help="List every test, not only those that failed.")
def submit(path: Path | None, slug: str | None, device: str, as_json: bool, verbose: bool) -> None:
    """Grade your file with the hidden specs, record the attempt, print the verdict.

    PATH defaults to the current challenge's file in your workspace.

    Example: lmprep submit attention.py --challenge scaled-dot-product-attention
    """
    from lmprep import render

    with render.grading_status():
        report, attempt = learner().submit(path, slug, device)
    print_report(report, as_json, verbose, rated=None if as_json else learner().rated_by(attempt))


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True, help="Print the graded Report as JSON.")
def quiz(slug: str, as_json: bool) -> None:
    """Answer the quiz SLUG question by question, then grade it (recorded).

    Your answers are saved to the quiz's answer sheet in your workspace first (the
    previous sheet is backed up). Press Enter to leave a question unanswered.

    Example: lmprep quiz quiz-entropy-kl
    """
    from grader.quiz import AnswerError
    from lmprep import bank, render

    ch = bank.get(slug)
    if ch.kind != "quiz":
        raise LmprepError(f"{slug} is a {ch.kind} challenge, not a quiz: edit its file, then `lmprep submit`")
    learner().start(slug)
    answers = {}
    for n, q in enumerate(bank.questions(ch), 1):

        def read(raw: str, q=q):
            try:
                return q.read(raw)
            except AnswerError as exc:
                raise click.BadParameter(str(exc)) from None

        click.echo()
        render.markdown(render.template("question.md.j2", q=q, n=n))
        answers[q.id] = click.prompt(f"{n}. {q.id}", default="", show_default=False, value_proc=read, err=True)
    path = learner().save_answers(ch, answers)
    click.echo(f"\nSaved your answers to {path}", err=True)
    report, _ = learner().submit(path, slug)
    print_report(report, as_json)


@cli.command(epilog=EXIT_CODES_HELP)
@FILE
@CHALLENGE
@DEVICE
@click.option("--json", "as_json", is_flag=True, help="Print the Report as JSON.")
@click.option("--verbose", "-v", is_flag=True, help="List every test, not only those that failed.")
def test(path: Path | None, slug: str | None, device: str, as_json: bool, verbose: bool) -> None:
    """Run only the public examples on your file (not recorded).

    Example: lmprep test
    """
    from lmprep import render

    with render.grading_status("Running the examples"):
        report = learner().test(path, slug, device)
    print_report(report, as_json, verbose)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=2, show_default=True, help="Judges run at once.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option("--feedback", is_flag=True, help="Show each mutant's first failure and diagnosis.")
@click.pass_context
def validate(
    ctx: click.Context, paths: tuple[Path, ...], jobs: int, device: str, as_json: bool, feedback: bool
) -> None:
    """Prove challenges sound: metadata, prompt, reference Accepted, stub scores
    zero, every mutant rejected (and diagnosed as its docstring's "Diagnosis:" line
    says). Checks every challenge when no PATH is given; exits 1 if any check fails.

    --feedback prints, for every mutant, the failure a learner would be shown first
    and its diagnosis: the feedback for each typical mistake on one screen.

    Example: lmprep validate challenges/lstm-cell --feedback
    """
    from lmprep import grading, render
    from lmprep.validate import validate as run_validate

    grading.check_device(device)
    checks = run_validate(list(paths) or None, jobs=jobs, device=device)
    if as_json:
        click.echo(json.dumps([c.to_dict() for c in checks], indent=2))
    else:
        click.echo(render.validate_text(checks, feedback), nl=False)
    ctx.exit(0 if all(c.ok for c in checks) else 1)


@cli.command()
@click.argument("slug")
@click.option("--kind", type=click.Choice(["code", "quiz"]), default="code", show_default=True)
@click.option("--topic", help="The guide's topic it belongs to (default: a new folder's own).")
@click.option("--difficulty", type=click.Choice(["easy", "medium", "hard"]), default="easy", show_default=True)
@click.option(
    "--dir",
    "root",
    type=click.Path(file_okay=False, path_type=Path),
    help="Challenges folder to write into (default: $LMPREP_CHALLENGES, else ./challenges).",
)
@JSON
def new(slug: str, kind: str, topic: str | None, difficulty: str, root: Path | None, as_json: bool) -> None:
    """Start a challenge: write a folder that `lmprep validate` proves green as written.

    A small worked example (prompt, stub, reference, a spec using grader.spec, hints and
    two mutants for a code challenge; questions for a quiz) with comments that say what to
    replace. Refuses to overwrite an existing folder.

    Example: lmprep new beam-search --topic decoding --difficulty medium --dir my-course
    """
    from lmprep import scaffold

    made = scaffold.new_challenge(slug, kind=kind, topic=topic, difficulty=difficulty, root=root)
    if as_json:
        echo_json(made)
        return
    click.echo(f"Wrote {made['path']}/")
    for name in made["files"]:
        click.echo(f"  {name}")
    click.echo(f"\nProve it sound: lmprep validate {made['path']}")
    click.echo(f"Try it as a learner: LMPREP_CHALLENGES={Path(made['path']).parent} lmprep start {made['slug']}")


class DefaultCommandGroup(click.Group):
    """A group whose arguments go to its hidden default command unless the first one names
    a subcommand: ``lmprep grade roster/ -c x`` and ``lmprep grade merge a.csv b.csv``."""

    default = "class"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = [self.default, *args]
        return super().parse_args(ctx, args)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The default command's options, then the subcommands."""
        default = self.commands[self.default]
        default.format_options(click.Context(default, info_name=ctx.info_name, parent=ctx.parent), formatter)
        self.format_commands(ctx, formatter)


GRADEBOOK = click.option(
    "--gradebook",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("gradebook.db"),
    show_default=True,
    help="The gradebook database (results kept between runs).",
)


@cli.group(cls=DefaultCommandGroup)
def grade() -> None:
    """Grade a class's submissions into a gradebook (resumable), or merge gradebooks.

    \b
    lmprep grade SUBMISSIONS... --challenge SLUG [-j N] [-o gradebook.csv|.json] [--shard I/N]
    lmprep grade merge PARTS... -o gradebook.csv

    SUBMISSIONS are files or folders: roster/<student>/answer.py (the student is the
    folder) or flat files (the student is the file's stem). Each submission is graded in
    isolation, as `lmprep submit` grades it; nothing is written into a progress
    database. Results are kept in the gradebook database keyed by (file sha256,
    challenge version, lmprep version): a re-run grades only what is new. Exits 0 even
    when students fail.

    Example: lmprep grade roster/ --challenge kv-cache -j 2 -o gradebook.csv
    """


@grade.command(name="class", hidden=True)
@click.argument("submissions", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--challenge", "-c", "slug", required=True, help="The challenge the submissions answer.")
@click.option("--jobs", "-j", type=click.IntRange(1, 64), default=2, show_default=True, help="Gradings at once.")
@click.option(
    "-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the gradebook (.csv or .json)."
)
@click.option(
    "--shard", help="Grade only shard I of N (I/N, 0 <= I < N), split by file hash: one per node of a job array."
)
@GRADEBOOK
@DEVICE
@JSON
def grade_class(
    submissions: tuple[Path, ...],
    slug: str,
    jobs: int,
    output: Path | None,
    shard: str | None,
    gradebook: Path,
    device: str,
    as_json: bool,
) -> None:
    """Grade SUBMISSIONS to a challenge into the gradebook (see `lmprep grade --help`).

    Example: lmprep grade roster/ -c kv-cache --shard 0/4 -o part-0.json
    """
    from lmprep import gradebook as gb
    from lmprep import render

    if output is not None and output.suffix not in (".csv", ".json"):
        raise LmprepError(f"{output}: a gradebook is written as .csv or .json")
    with render.class_progress(f"Grading {slug}", enabled=not as_json) as progress:
        run = gb.grade_class(
            submissions,
            slug,
            gradebook,
            jobs=jobs,
            device=device,
            shard=gb.parse_shard(shard) if shard else None,
            on_start=progress.start,
            on_result=progress.advance,
        )
    if output is not None:
        gb.write(run.rows, output)
    summary = run.summary() | {"output": str(output) if output else None}
    if as_json:
        echo_json(summary)
    else:
        click.echo(render.template("grade.txt.j2", s=summary, bar=render.bar), nl=False)


@grade.command()
@click.argument("parts", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="The merged gradebook (.csv or .json).",
)
@JSON
def merge(parts: tuple[Path, ...], output: Path, as_json: bool) -> None:
    """Merge gradebooks (.csv, .json or gradebook .db files) of shards or runs into one.

    A submission graded twice is reported once; one graded twice with different results
    (or by different versions) is kept once, flagged in a `conflict` column and listed.

    Example: lmprep grade merge part-*.json -o gradebook.csv
    """
    from lmprep import gradebook as gb

    rows, conflicts = gb.merge(parts)
    gb.write(rows, output)
    if as_json:
        echo_json({"rows": len(rows), "conflicts": conflicts, "output": str(output)})
        return
    click.echo(f"Merged {len(parts)} gradebooks: {len(rows)} submissions -> {output}")
    for line in conflicts:
        click.secho(f"conflict: {line}", fg="yellow", err=True)


@cli.command()
@click.argument("slug")
@click.option(
    "--gradebook",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("gradebook.db"),
    show_default=True,
    help="A gradebook database, or an exported .csv / .json.",
)
@click.option("--no-mutants", is_flag=True, help="Do not grade the challenge's mutants (faster).")
@JSON
def stats(slug: str, gradebook: Path, no_mutants: bool, as_json: bool) -> None:
    """What a class got wrong on SLUG: verdicts, per-test failure rates, attempts per
    student, and for each of the challenge's mutants (known mistakes) how many
    submissions failed exactly the tests it fails: a hint at each misconception.

    Example: lmprep stats kv-cache --gradebook gradebook.db
    """
    from lmprep import gradebook as gb
    from lmprep import render

    found = gb.class_stats(slug, gradebook, mutants=not no_mutants)
    if as_json:
        echo_json(found)
    else:
        click.echo(render.template("stats.txt.j2", s=found, bar=render.bar), nl=False)


@cli.group()
def export() -> None:
    """Hand challenges to another platform (Gradescope).

    Example: lmprep export gradescope kv-cache -o autograder.zip
    """


@export.command()
@click.argument("slugs", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("autograder.zip"),
    show_default=True,
    help="The bundle to write.",
)
@JSON
def gradescope(slugs: tuple[str, ...], output: Path, as_json: bool) -> None:
    """Write a Gradescope autograder bundle that grades SLUGS with lmprep.

    The zip holds setup.sh (installs lmprep, its dependencies and the challenges) and
    run_autograder (grades /autograder/submission and writes
    /autograder/results/results.json in Gradescope's format: one test entry per spec
    test; hidden cases' inputs are not shown). Upload it as a "Zip file upload"
    autograder.

    Example: lmprep export gradescope kv-cache -o autograder.zip
    """
    from lmprep import gradescope as gs

    made = gs.export(list(slugs), output)
    if as_json:
        echo_json(made)
        return
    click.echo(f"Wrote {made['path']} ({made['size_kb']} KB): {', '.join(made['challenges'])}")
    click.echo("Upload it on Gradescope: Configure Autograder > Zip file upload.")


@cli.command()
@click.argument("slug", required=False)
@JSON
def hint(slug: str | None, as_json: bool) -> None:
    """Reveal the next hint (recorded) for SLUG or the challenge in progress.

    Example: lmprep hint
    """
    ch, hints, new = learner().hint(slug)
    if as_json:
        echo_json({"slug": ch.slug, "hints": hints, "total": len(hints), "new": new})
        return
    for i, text in enumerate(hints, 1):
        click.secho(f"Hint {i}", bold=True)
        click.echo(text + "\n")
    if not new:
        click.echo(f"That is every hint for {ch.slug}.")


@cli.command()
@click.argument("slug")
@click.option("--yes", is_flag=True, help="Show it even though the challenge is not solved (recorded).")
def solution(slug: str, yes: bool) -> None:
    """Print the reference solution: after Accepted, or with --yes.

    Example: lmprep solution lstm-cell
    """
    click.echo(learner().solution(slug, yes), nl=False)


@cli.command()
@click.argument("slug", required=False)
@JSON
def review(slug: str | None, as_json: bool) -> None:
    """List the reviews due and those coming next; with SLUG, start a review of it.

    Solved challenges and answered quiz questions come back on an FSRS schedule. A review
    writes a fresh stub (a quiz: the questions due blank, your other answers kept) at
    your file's usual path, keeping your previous file beside it; `lmprep submit` grades
    it and rates the card.

    Example: lmprep review kv-cache
    """
    from lmprep import render

    if slug:
        show_started(learner().review(slug), as_json)
        return
    found = learner().reviews()
    if as_json:
        echo_json(
            {
                **found,
                "now": found["now"].isoformat(),
                "due": [c.to_dict() for c in found["due"]],
                "upcoming": [c.to_dict() for c in found["upcoming"]],
            }
        )
    else:
        click.echo(render.template("review.txt.j2", **found), nl=False)


@cli.command()
@JSON
def progress(as_json: bool) -> None:
    """Solved / attempted / total per topic and difficulty, reviews due, streak, and recent attempts.

    Example: lmprep progress --json
    """
    from lmprep import render

    summary = learner().summary()
    if as_json:
        echo_json(summary)
    else:
        click.echo(render.template("progress.txt.j2", s=summary), nl=False)


@cli.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("lmprep-report.html"),
    show_default=True,
    help="The HTML file to write.",
)
@click.option("--open", "open_", is_flag=True, help="Open it in the web browser.")
@JSON
def report(output: Path, open_: bool, as_json: bool) -> None:
    """Your progress as one self-contained HTML page (no network, no external files):
    solved and attempted per topic and difficulty, attempts over time, verdicts, the tests
    you failed most with their study notes, the review schedule, time per challenge.

    Example: lmprep report -o report.html --open
    """
    from lmprep import progress_report

    made = progress_report.write(learner(), output)
    if open_:
        import webbrowser

        webbrowser.open(Path(made["path"]).resolve().as_uri())
    if as_json:
        echo_json(made)
    else:
        click.echo(f"Wrote {made['path']} ({made['size_kb']} KB)")


@cli.command()
@click.argument("slug", required=False)
@click.option("--all", "all_", is_flag=True, help="Reset every challenge you have a file for.")
def reset(slug: str | None, all_: bool) -> None:
    """Back up your file and start SLUG afresh from the stub (or a blank answer sheet).

    Example: lmprep reset lstm-cell
    """
    from lmprep import bank, workspace

    if bool(slug) == all_:
        raise click.UsageError("name one challenge, or pass --all")
    slugs = [slug] if slug else [c.slug for c in bank.all_challenges() if workspace.file_for(c).exists()]
    for name in slugs:
        saved = learner().reset(name)
        if saved or slug:
            click.echo(f"{name}: fresh start written" + (f"; your file is backed up at {saved}" if saved else ""))


@cli.command()
@click.argument("slug", required=False)
def skip(slug: str | None) -> None:
    """Skip SLUG (default: the challenge in progress); `next` moves past it.

    Example: lmprep skip
    """
    ch = learner().skip(slug)
    click.echo(f"Skipped {ch.slug}. `lmprep start {ch.slug}` brings it back.")


@cli.command()
@click.argument("topic", required=False)
@JSON
def learn(topic: str | None, as_json: bool) -> None:
    """Read the study notes of TOPIC, or of one section with TOPIC#SECTION (as a
    challenge's statement names them); with no TOPIC, list the topics and sections.

    Example: lmprep learn decoding#top-k-top-p
    """
    from lmprep import notes, render

    if topic is None:
        pages = {
            name: {"title": title, "sections": [s.id for s in notes.sections(name)]}
            for name, title in notes.topics().items()
        }
        if as_json:
            echo_json(pages)
            return
        if not pages:
            click.echo("No study notes are installed yet (reference/ is empty).")
        for name, page in pages.items():
            click.echo(f"{name:14s} {page['title']}\n{'':14s} {', '.join(page['sections'])}")
        return
    text = notes.read(topic)
    if as_json:
        echo_json({"topic": topic, "markdown": text})
    else:
        render.markdown(text)


@cli.command()
@FILE
@CHALLENGE
@DEVICE
@click.option("--interval", type=click.FloatRange(0.05), default=0.5, show_default=True, help="Seconds between looks.")
@click.option("--max-runs", type=click.IntRange(1), help="Stop after this many runs (for scripts).")
def watch(path: Path | None, slug: str | None, device: str, interval: float, max_runs: int | None) -> None:
    """Grade your file every time it changes (Ctrl-C stops): with the hidden specs when
    warm grading is on (a verdict in about a second), else the public examples. Not
    recorded: `lmprep submit` records an attempt.

    Example: lmprep watch
    """
    import time

    from lmprep import render

    path, ch = learner().resolve(path, slug)
    hidden = _warm_server_ready()
    what = "the hidden specs (warm; not recorded)" if hidden else "the public examples"
    runs, seen = 0, None
    try:
        while max_runs is None or runs < max_runs:
            stamp = path.stat().st_mtime_ns if path.exists() else None
            if stamp != seen and stamp is not None:
                seen = stamp
                report = learner().test(path, ch.slug, device, hidden=hidden)
                click.echo(render.report_text(report), nl=False)
                runs += 1
                click.echo(f"-- watching {path}: {what} on every save (Ctrl-C stops)")
            time.sleep(interval)
    except KeyboardInterrupt:
        pass
    except Interrupted as exc:  # Ctrl-C is how watch stops (its judge is stopped already); SIGTERM is not
        if exc.signum != signal.SIGINT:
            raise


@cli.command()
@JSON
def doctor(as_json: bool) -> None:
    """Check this machine: dependencies, a real grading, torch, GPU, the database, and how
    far the grader can isolate a submission here (tried on a confined process that walks
    every folder it can see, not assumed). Exits 1 if something needed for grading is broken.

    Example: lmprep doctor
    """
    from lmprep.doctor import BROKEN, diagnose

    found = diagnose(learner().db_path)
    if as_json:
        echo_json(found.to_dict())
    else:
        click.echo(f"isolation level: {found.level}")
        for check in found.checks:
            mark = click.style("ok", fg="green") if check.ok else click.style("--", fg="yellow")
            click.echo(f"  {mark} {check.area:12s} {check.detail}")
    broken = {c.area for c in found.checks if not c.ok} & BROKEN
    click.get_current_context().exit(1 if broken else 0)


@cli.command()
@click.option("--move-aside", is_flag=True, help="Rename an unreadable database to a backup and start afresh.")
@JSON
def where(move_aside: bool, as_json: bool) -> None:
    """Print where lmprep keeps things: database, workspace, challenges, notes.

    Example: lmprep where
    """
    from lmprep import bank, paths, store

    db = learner().db_path
    if move_aside:
        if not db.exists():
            raise LmprepError(f"{db}: no database to move")
        click.echo(f"Moved {db} to {store.move_aside(db)}")
    places = {
        "database": str(db),
        "workspace": str(paths.workspace()),
        "challenges": str(bank.challenges_dir()),
        "notes": str(bank.content_root() / "reference"),
    }
    if as_json:
        echo_json(places)
    else:
        for name, place in places.items():
            click.echo(f"{name:11s} {place}")


def _warm_server_ready() -> bool:
    """Whether the warm grading server runs (started here if warm grading is on)."""
    from grader import warm

    if not warm.enabled():
        return False
    try:
        warm.ensure_server()
    except (warm.Refused, OSError):
        return False
    return True


@cli.command()
@click.option("--status", "show", is_flag=True, help="Show the running server; start nothing.")
@click.option("--stop", is_flag=True, help="Stop the running server.")
@JSON
def serve(show: bool, stop: bool, as_json: bool) -> None:
    """Start the warm grading server (in the background) and show it.

    The server keeps the grader, pytest and torch imported and forks a judge per
    grading, so a verdict costs what its specs cost. submit, test, watch and validate
    start it when needed; it exits after 10 idle minutes, and LMPREP_WARM=0 grades
    without it. One per Python environment, reached over a private Unix socket.

    Example: lmprep serve --status
    """
    from grader import warm

    if show and stop:
        raise click.UsageError("--status and --stop: choose one")
    if stop:
        running = warm.status()
        if running is not None and not warm.stop():
            raise LmprepError(f"the grading server (pid {running['pid']}) did not stop")
        state = {"stopped": running is not None, "pid": running and running["pid"]}
        if as_json:
            echo_json(state)
        else:
            click.echo(f"stopped the grading server (pid {running['pid']})" if running else "no grading server runs")
        return
    if show:
        state = warm.status()
    else:
        try:
            state = warm.ensure_server()
        except (warm.Refused, OSError) as exc:
            raise LmprepError(
                f"the grading server could not start: {exc} (see {warm.runtime_dir()}/server.log)"
            ) from None
    if as_json:
        echo_json(state)
    elif state is None:
        click.echo("no grading server runs (the next grading starts one, unless LMPREP_WARM=0)")
    else:
        click.echo(
            f"grading server: pid {state['pid']}, up {state['uptime_s']:g} s, "
            f"{state['served']} gradings, {state['running']} running\n"
            f"  socket  {state['socket']}\n"
            f"  memory  {state['rss_mb']} MB (server), {state['children_rss_mb']} MB (gradings)\n"
            f"  loaded  {', '.join(state['preloaded'])}"
        )


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: unwind (judges stopped, attempts marked), then exit 128 + signal."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _interrupt(signum, frame) -> None:
    from grader.runner import stop_all

    signal.signal(signum, signal.SIG_IGN)  # one stop is enough: a second Ctrl-C must not cut the clean-up short
    stop_all()
    raise Interrupted(signum)


def main() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _interrupt)
    try:
        cli(prog_name="lmprep")
    except Interrupted as exc:
        click.echo(f"lmprep: stopped by {signal.Signals(exc.signum).name}", err=True)
        sys.exit(128 + exc.signum)
