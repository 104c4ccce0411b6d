"""Gradescope: the autograder bundle (`lmprep export gradescope`) and the runner inside it.

The bundle is a zip with, at its root (Gradescope's autograder format):

- ``setup.sh``: run once when Gradescope builds the image; installs the CPU build of the
  torch this lmprep runs with, then the wheel below (lmprep's other dependencies come
  from PyPI).
- ``run_autograder``: run once per submission; ``python3 -m lmprep.gradescope run SLUG...``.
- ``lmprep-<version>-py3-none-any.whl``: this lmprep's ``lmprep`` and ``grader`` packages,
  with only the chosen challenges as ``lmprep/_content/challenges/`` (where an installed
  lmprep finds its content). A wheel rather than a source tree: pip installs it without
  fetching a build backend, and it is written here with the standard library.

The runner grades ``$AUTOGRADER_ROOT/submission`` (default ``/autograder``) with lmprep's
usual isolated grading and writes ``$AUTOGRADER_ROOT/results/results.json``: the overall
score (the sum of the specs' points, unscaled), one test entry per spec test that ran,
and the verdict with the first failure in ``output``. Only tests marked ``public`` show
their message; a hidden test shows its outcome and the spec's diagnosis, never its inputs
or expected values. What the student's code printed is not shown either (it could echo a
hidden test's inputs); the full reports go to stdout, which Gradescope shows to
instructors only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import math
import os
import re
import sys
import time
import zipfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from grader import Report, TestResult, Verdict
from grader.report import OUTCOME_VERDICTS
from lmprep import bank, workspace
from lmprep.errors import LmprepError

PACKAGES = ("lmprep", "grader")
CONTENT = "lmprep/_content"
ZIP_DATE = (2024, 1, 1, 0, 0, 0)  # fixed: the same challenges give the same bytes
DEFAULT_ROOT = "/autograder"
SKIP_NAMES = {"__pycache__", ".DS_Store"}
SHOWN_FILES = 10  # a submission's files named in "no file for ..."


# ---------------------------------------------------------------- the bundle


def export(slugs: list[str], output: Path) -> dict:
    """Write the autograder bundle for ``slugs`` to ``output`` (a zip); nothing is written
    unless every slug is known. Returns what was written."""
    slugs = list(dict.fromkeys(slugs))
    if not slugs:
        raise LmprepError("name at least one challenge to export")
    challenges = [bank.get(slug) for slug in slugs]  # UnknownChallenge: one line, nothing written
    output = Path(output)
    if not output.parent.is_dir():
        raise LmprepError(f"{output}: no folder {output.parent} to write into")
    version, requires, python = _distribution()
    torch = _torch_version()
    wheel_name, wheel = build_wheel([ch.path for ch in challenges], version, requires, python)
    context = {
        "version": version,
        "challenges": slugs,
        "torch": torch,
        "wheel": wheel_name,
        "requires": [r for r in requires if not r.startswith("torch")],
        "torch_requirement": next((r for r in requires if re.match(r"torch\b", r)), "torch"),
    }
    env = bank.templates()
    files = {
        "setup.sh": (env.get_template("gradescope/setup.sh.j2").render(**context).encode(), 0o755),
        "run_autograder": (env.get_template("gradescope/run_autograder.j2").render(**context).encode(), 0o755),
        wheel_name: (wheel, 0o644),
    }
    partial = output.with_name(f".{output.name}.partial")
    try:
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, (data, mode) in files.items():
                _write(zf, name, data, mode)
        os.replace(partial, output)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise LmprepError(f"{output}: cannot write the bundle ({exc.strerror or exc})") from None
    return {
        "path": str(output),
        "size_kb": math.ceil(output.stat().st_size / 1024),
        "challenges": slugs,
        "files": list(files),
        "lmprep": version,
        "torch": torch,
    }


def _distribution() -> tuple[str, list[str], str]:
    """(version, runtime requirements, Requires-Python) of the installed lmprep."""
    try:
        meta = metadata.metadata("lmprep")
        requires = metadata.requires("lmprep") or []
    except metadata.PackageNotFoundError:
        raise LmprepError(
            "lmprep is not installed (pip install -e . in the checkout): cannot read its dependencies"
        ) from None
    runtime = [r for r in requires if not re.search(r"\bextra\s*==", r)]  # not the dev extras
    return meta["Version"], runtime, meta.get("Requires-Python") or ">=3.10"


def _torch_version() -> str:
    """The torch this lmprep runs with, without its local label (``2.13.0+cpu`` -> ``2.13.0``)."""
    try:
        return metadata.version("torch").split("+")[0]
    except metadata.PackageNotFoundError:
        raise LmprepError("torch is not installed: the bundle pins the torch lmprep is tested with") from None


def _write(zf: zipfile.ZipFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = zipfile.ZipInfo(name, ZIP_DATE)
    info.external_attr = (0o100000 | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def _tree(folder: Path, prefix: str) -> list[tuple[str, Path]]:
    """(name in the archive, file) for every file below ``folder``, caches and dot-files left out."""
    found = []
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if path.is_file() and not any(p in SKIP_NAMES or p.startswith(".") for p in parts) and path.suffix != ".pyc":
            found.append((f"{prefix}/{'/'.join(parts)}", path))
    return found


def build_wheel(challenge_dirs: list[Path], version: str, requires: list[str], python: str) -> tuple[str, bytes]:
    """A wheel of this lmprep (``lmprep`` and ``grader``) holding only ``challenge_dirs`` as
    its content: (file name, bytes)."""
    files: list[tuple[str, bytes]] = []
    for package in PACKAGES:
        root = Path(__import__(package).__file__).resolve().parent
        files += [(name, p.read_bytes()) for name, p in _tree(root, package) if not name.startswith(CONTENT + "/")]
    for folder in challenge_dirs:
        files += [(name, p.read_bytes()) for name, p in _tree(folder, f"{CONTENT}/challenges/{folder.name}")]
    info = f"lmprep-{version}.dist-info"
    meta = [
        "Metadata-Version: 2.1",
        "Name: lmprep",
        f"Version: {version}",
        "Summary: lmprep for a Gradescope autograder: " + ", ".join(d.name for d in challenge_dirs),
        f"Requires-Python: {python}",
        *(f"Requires-Dist: {r}" for r in requires),
    ]
    files += [
        (f"{info}/METADATA", ("\n".join(meta) + "\n").encode()),
        (
            f"{info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: lmprep export gradescope\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        ),
        (f"{info}/entry_points.txt", b"[console_scripts]\nlmprep = lmprep.cli:main\n"),
    ]
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in files] + [f"{info}/RECORD,,"]
    files.append((f"{info}/RECORD", ("\n".join(record) + "\n").encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files:
            _write(zf, name, data)
    return f"lmprep-{version}-py3-none-any.whl", buffer.getvalue()


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


# ---------------------------------------------------------------- the runner


@dataclass
class Graded:
    """One challenge's part of a submission: its file and Report, or why there is none."""

    slug: str
    file: Path | None = None
    report: Report | None = None
    problem: str = ""  # why no file was graded (none, or several that could be the one)


LABELS = {o.value: v.value for o, v in OUTCOME_VERDICTS.items()} | {
    "error": "Internal Error (a fault of the grader, not of your code)"
}


def submitted_files(folder: Path) -> list[Path]:
    """The files a student submitted (any depth), leaving out dot-files, caches and macOS
    archive litter."""
    if not folder.is_dir():
        return []
    skip = SKIP_NAMES | {"__MACOSX"}
    return [
        p
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not any(part in skip or part.startswith(".") for part in p.relative_to(folder).parts)
    ]


def pick_files(slugs: list[str], kinds: dict[str, str], folder: Path) -> dict[str, Path | str]:
    """For each slug, the submitted file to grade, or a sentence saying why there is none.

    A file is named ``<slug>.py`` or ``<slug_with_underscores>.py`` (``.toml`` for a quiz's
    answers); with a single challenge, the one file of that kind is taken whatever its name."""
    files = submitted_files(folder)
    picked: dict[str, Path | str] = {}
    for slug in slugs:
        suffix = workspace.SUFFIXES[kinds[slug]]
        names = list(dict.fromkeys([f"{slug}{suffix}", f"{slug.replace('-', '_')}{suffix}"]))
        expected = " or ".join(names)
        named = [p for p in files if p.name in names]
        of_kind = [p for p in files if p.suffix == suffix]
        if len(named) == 1:
            picked[slug] = named[0]
        elif named:
            shown = ", ".join(str(p.relative_to(folder)) for p in named)
            picked[slug] = f"several files could be the answer to {slug} ({shown}): submit only one"
        elif len(slugs) == 1 and len(of_kind) == 1:
            picked[slug] = of_kind[0]
        elif len(slugs) == 1 and of_kind:
            shown = ", ".join(str(p.relative_to(folder)) for p in of_kind)
            picked[slug] = f"several {suffix} files were submitted ({shown}): name the one to grade {expected}"
        else:
            seen = ", ".join(str(p.relative_to(folder)) for p in files[:SHOWN_FILES]) or "nothing"
            seen += f" and {len(files) - SHOWN_FILES} more" if len(files) > SHOWN_FILES else ""
            picked[slug] = f"no file for {slug}: submit it as {expected} (submitted: {seen})"
    return picked


def grade_submission(slugs: list[str], root: Path) -> list[Graded]:
    """Grade ``root``/submission for every slug (cold, isolated, hidden content protected)."""
    from grader import grade
    from lmprep import grading

    challenges = {slug: bank.get(slug) for slug in slugs}
    picked = pick_files(slugs, {s: ch.kind for s, ch in challenges.items()}, root / "submission")
    # the worker reads no content: the bank's, the one installed, and the bundle itself
    protected = [*grading.hidden_paths(), (root / "source").resolve()]
    graded = []
    for slug in slugs:
        file = picked[slug]
        if isinstance(file, str):
            graded.append(Graded(slug, problem=file))
            continue
        # cold: a Gradescope container grades one submission, so a warm grading server
        # would only cost its start-up and outlive run_autograder
        report = grade(challenges[slug].path, file, device="auto", protected=protected, warm=False)
        graded.append(Graded(slug, file=file, report=report))
    return graded


def shown_output(t: TestResult, kind: str = "code") -> str:
    """A test's text for the student: the full message only for a public test. A quiz
    question's message ends with its answer key: only the student's own answer is shown."""
    if t.outcome == "passed":
        return ""
    label = LABELS.get(t.outcome, t.outcome)
    if t.public:
        text = f"{label}: {t.message}" if t.message else label
    elif kind == "quiz":
        own = t.message.split(" Answer: ")[0] if t.message.startswith(("Your answer:", "Not answered.")) else ""
        text = f"{label}. {own + ' ' if own else ''}The answer key is not shown."
    else:
        text = f"{label}. A hidden test: its inputs and expected values are not shown."
    if t.diagnosis:
        text += f"\nLikely mistake: {t.diagnosis}"
    return text


def _points(x: float) -> str:
    return f"{x:g}"


def _summary(g: Graded, several: bool) -> list[str]:
    """The top-level output's lines for one challenge."""
    if g.report is None:
        return [f"{g.slug}: not graded: {g.problem}"]
    r = g.report
    ran = [t for t in r.tests if t.outcome != "skipped"]
    passed = sum(t.outcome == "passed" for t in ran)
    skipped = len(r.tests) - len(ran)
    where = f" ({g.file.name})" if several and g.file else ""
    head = f"{g.slug}{where}: {r.verdict}, {_points(r.score)}/{_points(r.max_score)} points"
    if ran:
        head += f"; {passed} of {len(ran)} tests passed"
    if skipped:
        head += f"; {skipped} skipped" + (" (CUDA: no GPU here)" if r.devices_skipped else "")
    lines = [head]
    if r.verdict == Verdict.INTERNAL_ERROR.value:
        lines.append("  The grader failed, not your code: ask your instructor to regrade this submission.")
    elif not r.tests and r.message:
        lines += ["  " + line for line in r.message.splitlines()]  # syntax, interface: about the student's own file
    failure = r.first_failure
    if failure is not None and r.verdict != Verdict.INTERNAL_ERROR.value:
        lines.append(f"First failure: {failure.name}")
        lines += ["  " + line for line in shown_output(failure, r.kind).splitlines()]
    return lines


def results(graded: list[Graded], elapsed_s: float = 0.0) -> dict:
    """results.json, in Gradescope's format, for a graded submission."""
    several = len(graded) > 1
    tests, output, score = [], [], 0.0
    for g in graded:
        prefix = f"{g.slug}: " if several else ""
        output += _summary(g, several)
        if g.report is None:
            tests.append(_entry(f"{prefix}a file to grade", 0.0, 0.0, False, g.problem))
            continue
        score += g.report.score
        ran = [t for t in g.report.tests if t.outcome != "skipped"]
        for t in ran:
            tests.append(
                _entry(prefix + t.name, t.points, t.max_points, t.outcome == "passed", shown_output(t, g.report.kind))
            )
        if not ran:  # nothing ran: the file did not load, a name is missing, the grader failed
            why = "\n".join(line.strip() for line in _summary(g, False)[1:])
            tests.append(_entry(f"{prefix}the file loads", 0.0, g.report.max_score, False, why))
    if several:  # the most there was to score is known only once every part was graded
        total = sum(g.report.max_score for g in graded if g.report is not None)
        out_of = f"/{_points(total)}" if all(g.report is not None for g in graded) else ""
        output.append(f"Total: {_points(score)}{out_of} points")
    return {
        "score": score,
        "execution_time": round(elapsed_s),
        "output": "\n".join(output),
        "output_format": "text",
        "test_output_format": "text",
        "stdout_visibility": "hidden",
        "tests": tests,
        "extra_data": {
            g.slug: {
                "verdict": g.report.verdict if g.report else "Not graded",
                "file": g.file.name if g.file else None,
                "max_score": g.report.max_score if g.report else 0.0,
                "versions": g.report.versions if g.report else {},
                # what held the student's code in: is this machine's sandbox what you expect?
                "isolation": g.report.isolation.get("level", "") if g.report else "",
            }
            for g in graded
        },
    }


def _entry(name: str, score: float, max_score: float, passed: bool, output: str) -> dict:
    return {
        "name": name,
        "score": score,
        "max_score": max_score,
        "status": "passed" if passed else "failed",
        "output": output,
        "visibility": "visible",
    }


def failed_results(message: str) -> dict:
    """results.json when grading itself could not run: no score, the reason for the instructor."""
    return {
        "score": 0.0,
        "output": "The autograder failed, not your submission: ask your instructor to regrade it.",
        "stdout_visibility": "hidden",
        "tests": [],
        "extra_data": {"error": message},
    }


def run(slugs: list[str], root: Path) -> dict:
    """Grade ``root``/submission for ``slugs`` and write ``root``/results/results.json;
    whatever happens, a results.json is written. Returns it."""
    started = time.perf_counter()
    try:
        graded = grade_submission(slugs, root)
        data = results(graded, time.perf_counter() - started)
    except Exception as exc:  # noqa: BLE001 - Gradescope must get a results.json, never a traceback alone
        graded, data = [], failed_results(f"{type(exc).__name__}: {exc}")
    out = root / "results" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    _log(graded, data)
    return data


def _log(graded: list[Graded], data: dict) -> None:
    """The full reports on stdout: Gradescope keeps it as results/stdout, for instructors."""
    import click

    import lmprep
    from lmprep import render

    click.echo(f"lmprep {lmprep.__version__} from {Path(lmprep.__file__).parent}, content {bank.challenges_dir()}")
    for g in graded:
        if g.report is not None:
            click.echo(f"== {g.slug}: {g.file}")
            click.echo(render.report_text(g.report, verbose=True))
            for t in g.report.tests:  # every failure in full, hidden ones too: stdout is for instructors
                if t.outcome not in ("passed", "skipped"):
                    click.echo(f"  {t.name}: {t.message}" + (f" [{t.diagnosis}]" if t.diagnosis else ""))
    if "error" in data.get("extra_data", {}):
        click.echo(f"autograder error: {data['extra_data']['error']}")
    click.echo(data["output"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m lmprep.gradescope", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    grade_cmd = sub.add_parser("run", help="grade $AUTOGRADER_ROOT/submission, write results/results.json")
    grade_cmd.add_argument("slugs", nargs="+")
    grade_cmd.add_argument("--root", type=Path, help="default: $AUTOGRADER_ROOT, else /autograder")
    args = parser.parse_args(argv)
    root = args.root or Path(os.environ.get("AUTOGRADER_ROOT") or DEFAULT_ROOT)
    run(args.slugs, root.resolve())
    return 0  # a student's failure is in results.json, not in the exit status


if __name__ == "__main__":
    sys.exit(main())
