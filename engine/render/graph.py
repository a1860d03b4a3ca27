"""The kustomization graph walked without building it: what the kustomize binary would load.

Before an app goes to the kustomize binary (the fallback renderer), every
kustomization reachable from its directory is read here, with the same guards as the
native renderer, and every entry that names something to load is checked: a remote one
(an ``https://`` file, a Git repository, a Helm chart repository) is refused, naming the
file, the field and the entry, and a local one must stay inside the repository root. The
directories visited are recorded as read, so a commit touching anything below them
renders the app again. Pure: it reads files through ``RepoReader`` only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.render.errors import RenderError, SecurityError
from engine.render.kustomization import find_file
from engine.render.loader import RepoReader, parse_documents
from engine.render.transformers import scalar_string

# Entries that may name a directory with its own kustomization (walked in turn).
DIRECTORY_FIELDS = ("resources", "bases", "components")
# Entries that name a file (or, for plugins, a directory) kustomize loads.
FILE_FIELDS = ("crds", "configurations", "generators", "transformers", "validators")
# List fields whose entries are mappings with a ``path``.
PATH_FIELDS = ("patches", "patchesJson6902", "replacements")

# Go-getter and kustomize remote forms: a scheme, scp-like git, a host then a path, the
# ``//`` separating a repository from a directory in it, a ref query.
_REMOTE = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*::|git@|[^/]*://)|\?ref=|^[^./][^/]*\.[^/]*/"
                     r"|//")


def check_local_only(reader: RepoReader, directory: Path) -> list[Path]:
    """Every kustomization directory reachable from ``directory``, each checked: no remote
    entry, nothing outside the root. A RenderError names the file, field and entry."""
    visited: list[Path] = []
    pending = [reader.resolve(directory)]
    while pending:
        current = pending.pop()
        if current in visited:
            continue
        reader.budget.visit(reader.display(current))
        visited.append(current)
        reader.depends_on(current)
        file = find_file(reader, current)
        if file is None:
            continue  # a plain directory of manifests: kustomize reads its files only
        display = reader.display(file)
        fields = _fields(reader, file, display)
        _refuse_helm_repositories(fields, display)
        for field, entry in _entries(fields, display):
            _refuse_remote(reader, current, field, entry, display)
            if field in DIRECTORY_FIELDS and reader.is_dir(current / entry):
                pending.append(reader.resolve(current / entry))
    return visited


def _fields(reader: RepoReader, file: Path, display: str) -> dict[str, Any]:
    docs = parse_documents(reader.read_text(file), display, yaml11=True)
    if len(docs) != 1 or not isinstance(docs[0].value, dict):
        raise RenderError(f"{display}: a kustomization must be a single YAML mapping")
    fields: dict[str, Any] = docs[0].value
    return fields


def _entries(fields: dict[str, Any], display: str) -> Iterator[tuple[str, str]]:
    """(field, entry) for every reference to something kustomize would load."""
    for field in (*DIRECTORY_FIELDS, *FILE_FIELDS, "patchesStrategicMerge"):
        for item in _list(fields, field, display):
            text = scalar_string(item)
            if "\n" not in text.strip():  # otherwise inline (a patch, a plugin's config)
                yield field, text
    for field in PATH_FIELDS:
        for item in _list(fields, field, display):
            if isinstance(item, dict) and item.get("path") is not None:
                yield f"{field}.path", scalar_string(item["path"])
    for field in ("configMapGenerator", "secretGenerator"):
        for item in _list(fields, field, display):
            if isinstance(item, dict):
                yield from _generator_files(field, item, display)
    openapi = fields.get("openapi")
    if isinstance(openapi, dict) and openapi.get("path") is not None:
        yield "openapi.path", scalar_string(openapi["path"])


def _generator_files(field: str, item: dict[str, Any], display: str
                     ) -> Iterator[tuple[str, str]]:
    for entry in _list(item, "files", display):
        yield f"{field}.files", scalar_string(entry).partition("=")[2] or scalar_string(entry)
    for entry in _list(item, "envs", display):
        yield f"{field}.envs", scalar_string(entry)
    if item.get("env"):
        yield f"{field}.env", scalar_string(item["env"])


def _refuse_helm_repositories(fields: dict[str, Any], display: str) -> None:
    """A Helm chart with a repository would be pulled from it: refused."""
    for field in ("helmCharts", "helmChartInflationGenerator"):
        for item in _list(fields, field, display):
            repo = item.get("repo") or item.get("chartRepoUrl") if isinstance(item, dict) else ""
            if repo:
                raise SecurityError(f"{display}: {field} entry with repository "
                                    f"{scalar_string(repo)!r} is remote; the kustomize "
                                    "fallback only reads the app's own repository")


def _list(fields: dict[str, Any], field: str, display: str) -> list[Any]:
    value = fields.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RenderError(f"{display}: field {field!r} must be a list")
    return value


def _refuse_remote(reader: RepoReader, directory: Path, field: str, entry: str,
                   display: str) -> None:
    if not entry:
        return
    if _REMOTE.search(entry) and not _exists_locally(reader, directory / entry):
        raise SecurityError(f"{display}: {field} entry {entry!r} is remote; the kustomize "
                            "fallback only reads the app's own repository")
    try:
        reader.resolve(directory / entry)
    except SecurityError as err:
        raise SecurityError(f"{display}: {field} entry {entry!r}: {err}") from err


def _exists_locally(reader: RepoReader, path: Path) -> bool:
    try:
        return reader.resolve(path).exists()
    except SecurityError:
        return False
