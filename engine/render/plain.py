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
    for doc in parse_documents(reader.read_text(path), source):
        objects.extend(iter_objects(doc.value, f"{source}:{doc.line}"))
    reader.budget.add_objects(len(objects), source)
    return objects


def render_directory(reader: RepoReader, directory: Path, *,
                     recurse: bool = False) -> list[dict[str, Any]]:
    """Objects of the manifest files of ``directory`` in file-name order."""
    objects: list[dict[str, Any]] = []
    _read_directory(reader, directory, recurse, objects, visited=set(), depth=0)
    return objects


def _read_directory(reader: RepoReader, directory: Path, recurse: bool,
                    objects: list[dict[str, Any]], *, visited: set[Path], depth: int) -> None:
    real = reader.resolve(directory)
    if real in visited:
        raise RenderError(f"{reader.display(directory)}: symlink loop: leads to "
                          f"'{reader.display(real)}', which this render already reads")
    if depth > MAX_DEPTH:
        raise SecurityError(f"{reader.display(directory)}: directories nested deeper than "
                            f"{MAX_DEPTH} levels")
    visited.add(real)
    for entry in reader.list_dir(directory):
        if entry.name.startswith("."):
            continue
        if reader.is_dir(entry):
            if recurse:
                _read_directory(reader, entry, True, objects, visited=visited,
                                depth=depth + 1)
        elif entry.suffix in SUFFIXES:
            objects.extend(read_objects(reader, entry, reader.display(entry)))
        check_object_count(len(objects), reader.display(directory))
