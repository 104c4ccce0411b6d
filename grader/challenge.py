"""A challenge folder: `challenge.toml` validated into a typed `Challenge`.

Errors name the file and the field (``challenges/x/challenge.toml: difficulty: must be
one of easy, medium, hard``) so an instructor can fix a broken folder at once.
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from grader.limits import Limits

DIFFICULTIES = ("easy", "medium", "hard")
KINDS = ("code", "quiz")
DEVICES = ("cpu", "cuda")
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
# the parts every kind of challenge folder must hold
CODE_PARTS = ("prompt.md", "stub.py", "reference.py", "spec", "hints.md", "mutants")
QUIZ_PARTS = ("prompt.md", "questions.toml")


class ChallengeError(Exception):
    """A challenge folder that is broken; the message names the file and field."""


@dataclass(frozen=True)
class Challenge:
    path: Path
    slug: str
    title: str
    topic: str
    difficulty: str
    kind: str
    order: int
    prerequisites: tuple[str, ...] = ()
    entry_points: tuple[str, ...] = ()
    forbidden: tuple[str, ...] = ()
    devices: tuple[str, ...] = ("cpu",)
    time_limit_s: float = 5.0
    memory_limit_mb: int = 2048
    output_limit_kb: int = 1024
    est_minutes: int = 20
    notes: str = ""
    libraries: tuple[str, ...] = ()  # modules the worker imports before the submission
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def spec_dir(self) -> Path:
        return self.path / "spec"

    @property
    def stub(self) -> Path:
        return self.path / "stub.py"

    @property
    def reference(self) -> Path:
        return self.path / "reference.py"

    @property
    def mutants(self) -> list[Path]:
        return sorted((self.path / "mutants").glob("*.py"))

    @property
    def limits(self) -> Limits:
        return Limits(
            time_limit_s=self.time_limit_s,
            memory_limit_mb=self.memory_limit_mb,
            output_limit_kb=self.output_limit_kb,
        )

    def content_hash(self) -> str:
        return content_hash(self.path)

    def to_dict(self) -> dict:
        return {
            "slug": self.slug,
            "title": self.title,
            "topic": self.topic,
            "difficulty": self.difficulty,
            "kind": self.kind,
            "order": self.order,
            "prerequisites": list(self.prerequisites),
            "entry_points": list(self.entry_points),
            "forbidden": list(self.forbidden),
            "devices": list(self.devices),
            "time_limit_s": self.time_limit_s,
            "memory_limit_mb": self.memory_limit_mb,
            "output_limit_kb": self.output_limit_kb,
            "est_minutes": self.est_minutes,
            "notes": self.notes,
        }


def content_hash(folder: Path) -> str:
    """A hash of every file in a challenge folder: which version of the challenge graded."""
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(file.relative_to(folder)).encode() + b"\0")
        digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _check(where: str, name: str, value, kind, *, required: bool = True, default=None):
    if value is None:
        if required:
            raise ChallengeError(f"{where}: {name}: missing")
        return default
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is tuple:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ChallengeError(f"{where}: {name}: must be a list of strings")
        return tuple(value)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ChallengeError(f"{where}: {name}: must be {kind.__name__}, not {type(value).__name__}")
    return value


def load(path: str | Path) -> Challenge:
    """Read and validate ``path/challenge.toml``."""
    path = Path(path)
    toml_path = path / "challenge.toml"
    where = str(toml_path)
    if not toml_path.is_file():
        raise ChallengeError(f"{where}: not found (is {path} a challenge folder?)")
    try:
        data = tomllib.loads(toml_path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ChallengeError(f"{where}: not valid TOML: {exc}") from None

    def get(name, kind, **kw):
        return _check(where, name, data.pop(name, None), kind, **kw)

    slug = get("slug", str)
    if not SLUG.match(slug):
        raise ChallengeError(f"{where}: slug: {slug!r} must be lowercase words joined by '-'")
    if slug != path.name:
        raise ChallengeError(f"{where}: slug: {slug!r} differs from the folder's name {path.name!r}")
    difficulty = get("difficulty", str)
    if difficulty not in DIFFICULTIES:
        raise ChallengeError(f"{where}: difficulty: must be one of {', '.join(DIFFICULTIES)}")
    kind = get("kind", str, required=False, default="code")
    if kind not in KINDS:
        raise ChallengeError(f"{where}: kind: must be one of {', '.join(KINDS)}")
    devices = get("devices", tuple, required=False, default=("cpu",))
    if not devices or set(devices) - set(DEVICES) or "cpu" not in devices:
        raise ChallengeError(f'{where}: devices: must be ["cpu"] or ["cpu", "cuda"]')
    entry_points = get("entry_points", tuple, required=kind == "code", default=())
    forbidden = get("forbidden", tuple, required=False, default=())
    for name in forbidden:
        if not DOTTED.match(name):
            raise ChallengeError(f"{where}: forbidden: {name!r} is not a dotted name")
    challenge = Challenge(
        path=path,
        slug=slug,
        title=get("title", str),
        topic=get("topic", str),
        difficulty=difficulty,
        kind=kind,
        order=get("order", int),
        prerequisites=get("prerequisites", tuple, required=False, default=()),
        entry_points=entry_points,
        forbidden=forbidden,
        devices=devices,
        time_limit_s=get("time_limit_s", float, required=False, default=5.0),
        memory_limit_mb=get("memory_limit_mb", int, required=False, default=2048),
        output_limit_kb=get("output_limit_kb", int, required=False, default=1024),
        est_minutes=get("est_minutes", int, required=False, default=20),
        notes=get("notes", str, required=False, default=""),
        libraries=get("libraries", tuple, required=False, default=()),
        extra=data,
    )
    if challenge.time_limit_s <= 0 or challenge.memory_limit_mb <= 0 or challenge.output_limit_kb <= 0:
        raise ChallengeError(f"{where}: limits must be positive")
    if data:
        raise ChallengeError(f"{where}: {sorted(data)[0]}: unknown field")
    parts = CODE_PARTS if kind == "code" else QUIZ_PARTS
    for part in parts:
        if not (path / part).exists():
            raise ChallengeError(f"{path / part}: missing (a {kind} challenge needs {', '.join(parts)})")
    return challenge
