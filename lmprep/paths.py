"""Where the learner's things live: the data directory, the database, the workspace."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def home() -> Path:
    """``$LMPREP_HOME``, else the platform's user data directory."""
    override = os.environ.get("LMPREP_HOME")
    if override:
        return Path(override).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "lmprep"
    if os.name == "nt":
        return Path(os.environ.get("APPDATA", Path.home())) / "lmprep"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "lmprep"


def database(override: str | Path | None = None) -> Path:
    return Path(override).expanduser() if override else home() / "lmprep.db"


def workspace() -> Path:
    """``$LMPREP_WORKSPACE``, else ``~/lmprep``: one file per challenge, the learner's own."""
    return Path(os.environ.get("LMPREP_WORKSPACE") or Path.home() / "lmprep").expanduser()
