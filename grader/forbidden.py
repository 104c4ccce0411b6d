"""Forbidden APIs: a static scan of the learner's source and run-time tripwires.

The static scan resolves import aliases (``import torch.nn.functional as F`` then
``F.softmax``) and reports the first use of a forbidden dotted name with its line. The
tripwires replace each forbidden function, class constructor or module in the worker
with a wrapper that raises `ForbiddenCall` when learner code is on the call stack, which
also catches ``getattr(torch, "soft" + "max")`` and indirect uses through a library
(``torch.nn.Softmax()(x)`` when ``torch.nn.functional.softmax`` is forbidden).
"""

from __future__ import annotations

import ast
import functools
import importlib
import os
import sys
import sysconfig
import types
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class StaticHit:
    name: str
    line: int
    col: int


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in aliases:
        return None
    parts.append(aliases[node.id])
    return ".".join(reversed(parts))


def _matches(name: str, forbidden: list[str]) -> str | None:
    for item in forbidden:
        if name == item or name.startswith(item + "."):
            return item
    return None


def static_scan(source: str, forbidden: list[str]) -> list[StaticHit]:
    """Uses of forbidden names in ``source`` (which must parse), in source order."""
    if not forbidden:
        return []
    tree = ast.parse(source)
    aliases: dict[str, str] = {}
    hits: list[StaticHit] = []

    def hit(name: str, node: ast.AST) -> None:
        match = _matches(name, forbidden)
        if match:
            hits.append(StaticHit(match, node.lineno, node.col_offset + 1))

    # aliases first, wherever the import sits (function-level imports count too)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    root = alias.name.split(".")[0]
                    aliases[root] = root
                hit(alias.name, node)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                aliases[alias.asname or alias.name] = full
                hit(full, node)
    for node in ast.walk(tree):
        if isinstance(node, (ast.Attribute, ast.Name)) and isinstance(getattr(node, "ctx", None), ast.Load):
            name = _dotted(node, aliases)
            if name:
                hit(name, node)
    unique = {(h.name, h.line, h.col): h for h in hits}
    return sorted(unique.values(), key=lambda h: (h.line, h.col))


# ---------------------------------------------------------------- run-time tripwires


class ForbiddenCall(BaseException):
    """Raised in the worker when learner code calls a forbidden API.

    A BaseException so that ``except Exception`` in learner code does not swallow it;
    the worker also records every hit, so swallowing it anyway changes nothing.
    """


HITS: list[str] = []


def _library_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    roots |= set(getattr(sys, "path", [])) - {"", "."}
    return tuple(sorted(os.path.realpath(r) + os.sep for r in roots if r and os.path.isdir(r)))


class _Guard:
    """Decides whether the current call stack holds learner code."""

    def __init__(self, submission: str, trusted_dirs: list[str]):
        self.submission = os.path.realpath(submission)
        self.trusted = tuple(os.path.realpath(d) + os.sep for d in trusted_dirs)
        grader_dir = os.path.dirname(os.path.realpath(__file__)) + os.sep
        self.library = (*_library_roots(), grader_dir)
        self._cache: dict[str, bool] = {}

    def _is_library(self, filename: str) -> bool:
        known = self._cache.get(filename)
        if known is None:
            real = os.path.realpath(filename) if not filename.startswith("<") else filename
            known = real != self.submission and (real.startswith(self.library) or filename.startswith("<frozen "))
            self._cache[filename] = known
        return known

    def learner_on_stack(self) -> bool:
        frame = sys._getframe(2)
        while frame is not None:
            filename = frame.f_code.co_filename
            if filename.startswith(self.trusted) or os.path.realpath(filename).startswith(self.trusted):
                return False  # a trusted fixture calls the library on its own account
            if not self._is_library(filename):
                return True
            frame = frame.f_back
        return False


def _trip(name: str) -> None:
    HITS.append(name)
    raise ForbiddenCall(f"forbidden API called: {name}")


def _resolve(name: str):
    """(parent object, attribute, value) for a dotted name, importing what it needs."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        except Exception:  # a package that fails on import: nothing to guard
            return None
        parent, attr = None, None
        for part in parts[cut:]:
            parent, attr = obj, part
            obj = getattr(obj, part, None)
            if obj is None:
                return None
        if parent is None:  # the name is a whole module
            if cut == 1:
                return None  # forbidding a top-level package is the static scan's job
            parent = importlib.import_module(".".join(parts[: cut - 1]))
            attr = parts[cut - 1]
        return parent, attr, obj
    return None


class _TripwireModule(types.ModuleType):
    def __init__(self, name: str, module: types.ModuleType, guard: _Guard):
        super().__init__(module.__name__)
        object.__setattr__(self, "_lmprep", (name, module, guard))

    def __getattr__(self, attr: str):
        name, module, guard = object.__getattribute__(self, "_lmprep")
        if guard.learner_on_stack():
            _trip(name)
        return getattr(module, attr)


def _wrap_callable(name: str, original: Callable, guard: _Guard) -> Callable:
    @functools.wraps(original)
    def tripwire(*args, **kwargs):
        if guard.learner_on_stack():
            _trip(name)
        return original(*args, **kwargs)

    return tripwire


def install_tripwires(forbidden: list[str], submission: str, trusted_dirs: list[str]) -> list[str]:
    """Guard every forbidden name that exists here; returns the names guarded."""
    guard = _Guard(submission, trusted_dirs)
    installed = []
    for name in forbidden:
        found = _resolve(name)
        if found is None:
            continue
        parent, attr, value = found
        try:
            if isinstance(value, types.ModuleType):
                setattr(parent, attr, _TripwireModule(name, value, guard))
            elif isinstance(value, type):
                original_init = value.__init__

                def guarded_init(self, *args, __name=name, __init=original_init, **kwargs):
                    if guard.learner_on_stack():
                        _trip(__name)
                    __init(self, *args, **kwargs)

                value.__init__ = guarded_init
            elif callable(value):
                setattr(parent, attr, _wrap_callable(name, value, guard))
            else:
                continue
        except (AttributeError, TypeError):
            continue
        installed.append(name)
    return installed
