"""`lmprep validate`: prove a challenge folder sound.

For each code challenge: the metadata is valid, the prompt renders, the hints have
sections, the reference is Accepted with full marks, the stub scores zero, and every
mutant is rejected with a verdict that blames the submission (never Internal Error). The
grading runs in parallel, one judge per submission. For a quiz: the questions are well
formed, the answer key scores full marks, and a blank sheet and an empty file score zero.
"""

from __future__ import annotations

import ast
import re
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from grader import Report, Verdict, grade
from lmprep import bank, workspace
from lmprep.errors import LmprepError
from lmprep.grading import hidden_paths

HINT = re.compile(r"^## Hint (\d+)\s*$", re.M)


EXPECTED = re.compile(r"^Diagnosis:\s*(.+?)\s*$", re.M)


@dataclass
class MutantResult:
    name: str
    verdict: str
    rejected: bool
    message: str = ""  # the failure shown: "test name: what differs"
    diagnosis: str = ""  # the failure shown's diagnosis
    expected: str = ""  # what the mutant's docstring says its diagnosis names ("Diagnosis: ...")

    @property
    def diagnosed(self) -> bool:
        """The mistake was recognised, and (where the mutant says which) named."""
        return bool(self.diagnosis) and self.expected.lower() in self.diagnosis.lower()


def expected_diagnosis(mutant: Path) -> str:
    """The words a mutant's docstring says its diagnosis must contain (a line
    ``Diagnosis: gate order``), or ''."""
    try:
        doc = ast.get_docstring(ast.parse(mutant.read_text(encoding="utf-8"))) or ""
    except (SyntaxError, ValueError, OSError):
        return ""
    found = EXPECTED.search(doc)
    return found.group(1) if found else ""


@dataclass
class ChallengeCheck:
    slug: str
    path: str
    problems: list[str] = field(default_factory=list)
    reference: str = ""
    stub: str = ""
    mutants: list[MutantResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def killed(self) -> int:
        return sum(m.rejected for m in self.mutants)

    def to_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok, "mutants_killed": self.killed, "mutants_total": len(self.mutants)}


def _static_checks(path: Path, check: ChallengeCheck):
    try:
        challenge = bank.load(path)
    except LmprepError as exc:
        check.problems.append(str(exc))
        return None
    try:
        bank.render_prompt(challenge)
    except LmprepError as exc:
        check.problems.append(str(exc))
    for slug in challenge.prerequisites:
        if not (path.parent / slug / "challenge.toml").is_file():
            check.problems.append(f"{path / 'challenge.toml'}: prerequisites: no challenge {slug!r} beside it")
    if challenge.kind == "code":
        hints = [int(n) for n in HINT.findall((path / "hints.md").read_text(encoding="utf-8"))]
        if not hints or hints != list(range(1, len(hints) + 1)):
            check.problems.append(f"{path / 'hints.md'}: needs sections '## Hint 1', '## Hint 2', ... in order")
        if not challenge.mutants:
            check.problems.append(f"{path / 'mutants'}: no mutants (each challenge needs typical mistakes)")
    return challenge


def _judge_reference(check: ChallengeCheck, report: Report) -> None:
    check.reference = report.verdict
    if not report.accepted:
        check.problems.append(f"reference: {report.verdict}: {report.message}")
    elif report.score != report.max_score:
        check.problems.append(f"reference: scored {report.score:g}/{report.max_score:g}")


def _judge_stub(check: ChallengeCheck, report: Report) -> None:
    check.stub = f"{report.score:g}/{report.max_score:g}"
    if report.verdict == Verdict.INTERNAL_ERROR.value or report.score != 0:
        check.problems.append(f"stub: should score 0, got {report.verdict} {check.stub}: {report.message}")


def _judge_mutant(check: ChallengeCheck, mutant: Path, report: Report) -> None:
    rejected = report.verdict not in (Verdict.ACCEPTED.value, Verdict.INTERNAL_ERROR.value)
    expected = expected_diagnosis(mutant)
    result = MutantResult(mutant.stem, report.verdict, rejected, report.message, report.diagnosis, expected)
    check.mutants.append(result)
    if not rejected:
        check.problems.append(f"mutant {mutant.stem}: {report.verdict} (the specs must reject it): {report.message}")
    elif expected and not result.diagnosed:
        shown = f"its diagnosis is {report.diagnosis!r}" if report.diagnosis else "the failure shown has no diagnosis"
        check.problems.append(f"mutant {mutant.stem}: expected a diagnosis naming {expected!r}, but {shown}")


def _check_quiz(challenge, check: ChallengeCheck) -> None:
    try:
        bank.questions(challenge)
    except LmprepError as exc:
        check.problems.append(str(exc))
        return
    sheets = {
        "key": workspace.starting_text(challenge, key=True),
        "blank": workspace.starting_text(challenge),
        "empty": "",
    }
    with tempfile.TemporaryDirectory(prefix="lmprep-validate-") as tmp:
        for name, text in sheets.items():
            sheet = Path(tmp) / f"{name}.toml"
            sheet.write_text(text, encoding="utf-8")
            report = grade(challenge.path, sheet)
            (_judge_reference if name == "key" else _judge_stub)(check, report)


def validate(
    paths: list[Path] | None = None, jobs: int = 2, device: str = "auto", warm: bool | None = None
) -> list[ChallengeCheck]:
    """Check every challenge under ``paths`` (default: the whole bank); ``warm`` as in
    `grader.grade` (default: warm grading unless LMPREP_WARM=0)."""
    paths = paths or bank.challenge_paths()
    checks, work = [], []
    for path in paths:
        check = ChallengeCheck(slug=path.name, path=str(path))
        checks.append(check)
        challenge = _static_checks(path, check)
        if challenge is not None and challenge.kind == "quiz":
            _check_quiz(challenge, check)
        if challenge is None or challenge.kind != "code":
            continue
        work.append((check, challenge.reference, _judge_reference))
        work.append((check, challenge.stub, _judge_stub))
        work += [(check, m, lambda c, r, m=m: _judge_mutant(c, m, r)) for m in challenge.mutants]

    hidden = hidden_paths()

    def run(item):
        check, submission, _ = item
        return grade(Path(check.path), submission, device=device, protected=hidden, warm=warm)

    with ThreadPoolExecutor(max_workers=max(jobs, 1)) as pool:
        reports = list(pool.map(run, work))
    for (check, _, judge), report in zip(work, reports):
        judge(check, report)
    return checks
