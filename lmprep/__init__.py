"""lmprep: offline, auto-graded practice for language-model interviews."""

__version__ = "0.1.0"
