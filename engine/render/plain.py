"""A directory without a kustomization: every .yaml/.yml/.json file, as Argo CD reads it.

Every document must be a Kubernetes object: one without ``apiVersion`` or ``kind`` (a
Helm ``values.yaml``, a config file of some tool) is an error naming its file and line,
as in kustomize, never an object sent to a cluster. A ``.jsonnet`` file is evaluated by
the ``jsonnet`` callable the caller gives (``engine.render.jsonnet``); without one it is
refused rather than skipped: skipping it would deploy a part of the app, or nothing, and
report success (``.libsonnet`` files are Jsonnet libraries, never entry points, and are
ignored as Argo CD ignores them). With
``recurse``, subdirectories are read too. A symlink may lead back to a directory
already being read (a loop) or nest without end: each real directory is read once and
the depth is bounded, and both are refused with an error naming the path.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.errors import UnsupportedSourceError
from engine.render.errors import RenderError, SecurityError
from engine.render.jsonnet import SUFFIX, Evaluate, objects_of_value
from engine.render.loader import RepoReader, check_object_count, iter_objects, parse_documents

SUFFIXES = (".yaml", ".yml", ".json")
JSONNET = SUFFIX
MAX_DEPTH = 100

Check = Callable[[dict[str, Any], str], None]


def read_objects(reader: RepoReader, path: Path, source: str, *,
                 check: Check | None = None) -> list[dict[str, Any]]:
    """The objects of one manifest file (``kind: List`` expanded, empty documents skipped);
    ``check`` is given each object and its ``file:line``."""
    objects: list[dict[str, Any]] = []
    for doc in parse_documents(reader.read_text(path), source,
                               string_metadata=("annotations",)):
        where = f"{source}:{doc.line}"
        for obj in iter_objects(doc.value, where):
            if check is not None:
                check(obj, where)
            objects.append(obj)
    reader.budget.add_objects(len(objects), source)
    return objects


def check_manifest(obj: dict[str, Any], where: str) -> None:
    """Refuse a document that is not a Kubernetes object: no ``apiVersion`` or ``kind``."""
    missing = [f for f in ("apiVersion", "kind") if not isinstance(obj.get(f), str) or not obj[f]]
    if missing:
        raise RenderError(f"{where}: not a Kubernetes object: no {' and no '.join(missing)}")


def render_directory(reader: RepoReader, directory: Path, *, recurse: bool = False,
                     jsonnet: Evaluate | None = None) -> list[dict[str, Any]]:
    """Objects of the manifest files of ``directory`` in file-name order."""
    objects: list[dict[str, Any]] = []
    _read_directory(reader, directory, reader.display(directory), recurse, objects,
                    visited=set(), jsonnet=jsonnet)
    return objects


def _read_directory(reader: RepoReader, directory: Path, shown: str, recurse: bool,
                    objects: list[dict[str, Any]], *, visited: set[Path],
                    jsonnet: Evaluate | None) -> None:  # fmt: skip
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
                                visited=visited, jsonnet=jsonnet)
        elif entry.suffix == JSONNET:
            objects.extend(_jsonnet_objects(reader, entry, jsonnet))
        elif entry.suffix in SUFFIXES:
            objects.extend(read_objects(reader, entry, reader.display(entry),
                                        check=check_manifest))
        check_object_count(len(objects), shown)


def _jsonnet_objects(reader: RepoReader, entry: Path,
                     jsonnet: Evaluate | None) -> list[dict[str, Any]]:  # fmt: skip
    """The objects of one Jsonnet entry file, each checked to be a Kubernetes object."""
    where = reader.display(entry)
    if jsonnet is None:
        raise UnsupportedSourceError(f"{where}: a Jsonnet file; this render does not "
                                     "evaluate Jsonnet")
    objects = objects_of_value(jsonnet(reader, entry), where)
    for obj in objects:
        check_manifest(obj, where)
    reader.budget.add_objects(len(objects), where)
    return objects


def _join(shown: str, name: str) -> str:
    return name if shown == "." else f"{shown}/{name}"
