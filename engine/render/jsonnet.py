"""Jsonnet in a directory source, as Argo CD renders it (pure: what to evaluate and what
the value means; ``engine.renderer.jsonnet`` evaluates, bounded, in a child process).

Every ``.jsonnet`` file of the directory is an entry point (``.libsonnet`` files are
libraries, only imported). Its value is one object, or an array of objects (nested arrays
and ``kind: List`` flattened); anything else is an error naming the file. Options are
Argo CD's ``source.directory.jsonnet``: ``extVars`` and ``tlas`` (each a string, or Jsonnet
code with ``code: true``) and ``libs``, directories of the repository searched for imports
after the importing file's own directory. Imports never leave the repository.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.render.errors import RenderError
from engine.render.loader import iter_objects

if TYPE_CHECKING:
    from engine.render.loader import RepoReader

SUFFIX = ".jsonnet"
MAX_VARIABLES = 100
MAX_ARRAY_DEPTH = 10


@dataclass(frozen=True)
class JsonnetVariable:
    """One ``extVars`` or ``tlas`` entry: a string, or Jsonnet code."""

    name: str
    value: str
    code: bool = False


@dataclass(frozen=True)
class JsonnetOptions:
    """``source.directory.jsonnet``."""

    ext_vars: tuple[JsonnetVariable, ...] = ()
    tlas: tuple[JsonnetVariable, ...] = ()
    libs: tuple[str, ...] = ()  # repository-relative directories

    def key(self) -> tuple[tuple[str, str], ...]:
        """What a cached render must differ by."""
        return (("jsonnet", repr(self)),)


# The evaluation ``engine.render`` asks for: the value of one entry file (a JSON value).
Evaluate = Callable[["RepoReader", Path], Any]


def objects_of_value(value: Any, source: str) -> list[dict[str, Any]]:
    """The objects an entry file's value holds (``source`` names it in errors)."""
    return list(_objects(value, source, 0))


def _objects(value: Any, source: str, depth: int) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        if depth >= MAX_ARRAY_DEPTH:
            raise RenderError(f"{source}: arrays nested deeper than {MAX_ARRAY_DEPTH} levels")
        for item in value:
            yield from _objects(item, source, depth + 1)
        return
    if not isinstance(value, dict):
        raise RenderError(f"{source}: the Jsonnet value must be an object or an array of "
                          f"objects, not {type(value).__name__}")
    yield from iter_objects(value, source)
