"""A directory without a kustomization: every .yaml/.yml/.json file, as Argo CD reads it.

With ``recurse``, subdirectories are read too. A symlink may lead back to a directory
already being read (a loop) or nest without end: each real directory is read once and
the depth is bounded, and both are refused with an error naming the path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.render.errors import RenderError, SecurityError
from engine.render.loader import RepoReader, check_object_count, iter_objects, parse_documents

SUFFIXES = (".yaml", ".yml", ".json")
MAX_DEPTH = 100


def read_objects(reader: RepoReader, path: Path, source: str) -> list[dict[str, Any]]:
    """The objects of one manifest file (``kind: List`` expanded, empty documents skipped)."""
    objects: list[dict[str, Any]] = []
    for doc in parse_documents(reader.read_text(path), source,
                               string_metadata=("annotations",)):
        objects.extend(iter_objects(doc.value, f"{source}:{doc.line}"))
    reader.budget.add_objects(len(objects), source)
    return objects


def render_directory(reader: RepoReader, directory: Path, *,
                     recurse: bool = False) -> list[dict[str, Any]]:
    """Objects of the manifest files of ``directory`` in file-name order."""
    objects: list[dict[str, Any]] = []
    _read_directory(reader, directory, reader.display(directory), recurse, objects,
                    visited=set())
    return objects


def _read_directory(reader: RepoReader, directory: Path, shown: str, recurse: bool,
                    objects: list[dict[str, Any]], *, visited: set[Path]) -> None:
    """Read one directory; ``shown`` is the path as reached (through symlinks)."""
    real = reader.resolve(directory)
    if real in visited:
        raise RenderError(f"{shown}: symlink loop: leads to '{reader.display(real)}', "
                          "which this render already reads")
    if shown.count("/") >= MAX_DEPTH:
        raise SecurityError(f"{shown}: directories nested deeper than {MAX_DEPTH} levels")
    visited.add(real)
    for entry in reader.list_dir(directory):
        if entry.name.startswith("."):
            continue
        if reader.is_dir(entry):
            if recurse:
                _read_directory(reader, entry, _join(shown, entry.name), True, objects,
                                visited=visited)
        elif entry.suffix in SUFFIXES:
            objects.extend(read_objects(reader, entry, reader.display(entry)))
        check_object_count(len(objects), shown)


def _join(shown: str, name: str) -> str:
    return name if shown == "." else f"{shown}/{name}"
