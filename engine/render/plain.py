"""A directory without a kustomization: every .yaml/.yml/.json file, as Argo CD reads it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engine.render.loader import RepoReader, check_object_count, iter_objects, parse_documents

SUFFIXES = (".yaml", ".yml", ".json")


def read_objects(reader: RepoReader, path: Path, source: str) -> list[dict[str, Any]]:
    """The objects of one manifest file (``kind: List`` expanded, empty documents skipped)."""
    objects: list[dict[str, Any]] = []
    for doc in parse_documents(reader.read_text(path), source):
        objects.extend(iter_objects(doc.value, f"{source}:{doc.line}"))
    return objects


def render_directory(reader: RepoReader, directory: Path, *,
                     recurse: bool = False) -> list[dict[str, Any]]:
    """Objects of the manifest files of ``directory`` in file-name order."""
    objects: list[dict[str, Any]] = []
    for entry in reader.list_dir(directory):
        if entry.name.startswith("."):
            continue
        if reader.is_dir(entry):
            if recurse:
                objects.extend(render_directory(reader, entry, recurse=True))
        elif entry.suffix in SUFFIXES:
            objects.extend(read_objects(reader, entry, reader.display(entry)))
        check_object_count(len(objects), reader.display(directory))
    return objects
