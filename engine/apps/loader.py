"""Parsing one app file into the Applications and AppProjects it defines (pure).

Files may come from a Git repository anyone with push access writes, so every step is
guarded and every failure belongs to the file: the bytes are decoded here (a non-UTF-8
file is that file's error), YAML is read by the renderer's guarded loader
(``engine.render.loader.parse_documents``: alias bombs and deep nesting are refused before
anything is built), and any other exception while reading a document is that document's
error. Nothing raised here ever stops the other files.

Each Application gets a ``digest``, a hash of its canonical content (the document without
``status``): the hub compares definitions by digest, never by walking them. ``ParseCache``
keeps the last result per (file name, content hash), so an unchanged file is not parsed
again. ``load_documents`` reads local paths into a catalog, for tools and tests.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from engine.apps.application import Application, is_valid_name, parse_application
from engine.apps.appsets import (
    ApplicationSet,
    Listing,
    generate,
    parse_application_set,
    wanted,
)
from engine.apps.catalog import AppCatalog, Definition, ParsedFile, build_catalog
from engine.apps.project import AppProject, parse_project
from engine.apps.sources import (
    MAX_DOCUMENTS_PER_SOURCE,
    AppFile,
    AppSource,
    read_dir_source,
)
from engine.apps.targets import ClusterInfo
from engine.errors import ConfigError, RenderError
from engine.render.loader import parse_documents

_GROUPS = ("argoproj.io/", "fleetsync.io/")
_KINDS = ("Application", "AppProject", "ApplicationSet")


def parse_file(file: AppFile) -> ParsedFile:
    """Every Application and AppProject of one file; a file that cannot be read is failed."""
    if file.data is None:
        return _failed(file, file.error or "cannot be read")
    try:
        text = file.data.decode("utf-8")
    except UnicodeDecodeError as err:
        return _failed(file, f"not UTF-8 text (invalid byte at offset {err.start})")
    try:
        documents = parse_documents(text, file.name, yaml11=True)
    except RenderError as err:
        return ParsedFile(file.name, errors=(ConfigError(str(err)),), failed=True)
    except Exception as err:  # a bug or resource limit in the parser is still this file's
        return _failed(file, f"cannot be parsed ({type(err).__name__})")
    if len(documents) > MAX_DOCUMENTS_PER_SOURCE:
        return _failed(file, f"holds more than {MAX_DOCUMENTS_PER_SOURCE} documents")
    builder = _FileBuilder(file.name, len(documents))
    for index, document in enumerate(documents):
        builder.add(index, document.value)
    return builder.parsed()


def digest(doc: dict[str, Any]) -> str:
    """A hash of one document's canonical content (keys sorted, ``status`` left out)."""
    content = {k: v for k, v in doc.items() if k != "status"}
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


class ParseCache:
    """Parsed files by name and content hash; holds only what the last call used."""

    def __init__(self) -> None:
        self._parsed: dict[tuple[str, str], ParsedFile] = {}

    def parse_sources(self, sources: Sequence[AppSource]) -> list[list[ParsedFile]]:
        """Parse the files of every source, reusing the results of unchanged files."""
        used: dict[tuple[str, str], ParsedFile] = {}
        result = []
        for source in sources:
            parsed = []
            for file in source.files:
                if file.data is None:
                    parsed.append(parse_file(file))
                    continue
                key = (file.name, hashlib.sha256(file.data).hexdigest())
                found = self._parsed.get(key) or used.get(key) or parse_file(file)
                used[key] = found
                parsed.append(found)
            result.append(parsed)
        self._parsed = used
        return result


def load_documents(paths: Sequence[Path], *, implicit_default_project: bool = False) -> AppCatalog:
    """Read local files and directories (any project, AppProjects accepted) into a catalog."""
    sources = [read_dir_source(path) for path in paths]
    parsed = expand_application_sets(ParseCache().parse_sources(sources), ())
    return build_catalog(sources, parsed, implicit_default_project=implicit_default_project)


def _failed(file: AppFile, problem: str) -> ParsedFile:
    return ParsedFile(file.name, errors=(ConfigError(f"{file.name}: {problem}"),), failed=True)


class _FileBuilder:
    """Collects the definitions, errors and warnings of one file's documents."""

    def __init__(self, name: str, documents: int) -> None:
        self.name = name
        self.documents = documents
        self.definitions: list[Definition] = []
        self.errors: list[ConfigError] = []
        self.warnings: list[str] = []
        self.failed = False

    def add(self, index: int, doc: Any) -> None:
        where = f"{self.name}: document {index + 1}"
        if not isinstance(doc, dict):
            self._fail(ConfigError(f"{where}: not a mapping"))
            return
        kind, api_version = doc.get("kind"), doc.get("apiVersion")
        if kind not in _KINDS or not (isinstance(api_version, str)
                                      and api_version.startswith(_GROUPS)):  # fmt: skip
            self.warnings.append(f"{where} ({_short(api_version)} {_short(kind)}) is not an "
                                 "Application, ApplicationSet or AppProject; skipped")
            return
        try:
            self.definitions.append(_definition(self.name, str(kind), doc))
        except ConfigError as err:
            self._invalid(str(kind), doc, err)
        except Exception as err:  # odd values a parser did not foresee: still this document's
            self._invalid(str(kind), doc, ConfigError(f"{where}: cannot be read "
                                                      f"({type(err).__name__})"))  # fmt: skip

    def _invalid(self, kind: str, doc: dict[str, Any], err: ConfigError) -> None:
        name = _name(doc)
        if name is None:
            self._fail(err)
        else:
            self.definitions.append(Definition(kind, name, error=err))

    def _fail(self, err: ConfigError) -> None:
        self.errors.append(err)
        self.failed = True

    def parsed(self) -> ParsedFile:
        return ParsedFile(self.name, tuple(self.definitions), tuple(self.errors),
                          tuple(self.warnings), self.failed, self.documents)  # fmt: skip


def _definition(source: str, kind: str, doc: dict[str, Any]) -> Definition:
    item: Application | AppProject | ApplicationSet
    if kind == "Application":
        item = parse_application(doc, source=source)
    elif kind == "ApplicationSet":
        item = parse_application_set(doc, source=source)
    else:
        item = parse_project(doc, source=source)
    return Definition(kind, item.name, item=item, digest=digest(doc))


def expand_application_sets(
    parsed: Sequence[Sequence[ParsedFile]], clusters: Sequence[ClusterInfo],
    listings: Mapping[tuple[str, str], Listing] | None = None,
) -> list[list[ParsedFile]]:
    """``parsed`` with each ApplicationSet replaced by the Applications it generates over
    ``clusters``, defined in its file. An ApplicationSet that is invalid or cannot generate
    fails its file: the file's Applications keep their last definitions (``carry_over``),
    so a broken template never deletes what it generated before."""
    return [[_expand_file(f, clusters, listings or {}) for f in files] for files in parsed]


def wanted_listings(parsed: Sequence[Sequence[ParsedFile]]) -> frozenset[tuple[str, str]]:
    """The (repository, revision) pairs the git generators of ``parsed`` read."""
    return frozenset(pair for files in parsed for f in files for d in f.definitions
                     if isinstance(d.item, ApplicationSet) for pair in wanted(d.item))


def _expand_file(file: ParsedFile, clusters: Sequence[ClusterInfo],
                 listings: Mapping[tuple[str, str], Listing]) -> ParsedFile:
    if not any(d.kind == "ApplicationSet" for d in file.definitions):
        return file
    definitions: list[Definition] = []
    errors, warnings = list(file.errors), list(file.warnings)
    for definition in file.definitions:
        if definition.kind != "ApplicationSet":
            definitions.append(definition)
        elif not isinstance(definition.item, ApplicationSet):
            errors.append(definition.error or ConfigError(f"{file.name}: ApplicationSet "
                                                          f"{definition.name} is invalid"))
        else:
            warnings.extend(definition.item.warnings)
            try:
                documents = generate(definition.item, clusters, listings)
            except ConfigError as err:
                errors.append(err)
                continue
            definitions.extend(_generated(file.name, doc) for doc in documents)
    failed = file.failed or len(errors) > len(file.errors)
    return replace(file, definitions=tuple(definitions), errors=tuple(errors),
                   warnings=tuple(warnings), failed=failed)


def _generated(source: str, doc: dict[str, Any]) -> Definition:
    """One generated Application, validated like one written by hand."""
    name = _name(doc) or "(unnamed)"
    try:
        return Definition("Application", name, item=parse_application(doc, source=source),
                          digest=digest(doc))
    except ConfigError as err:
        return Definition("Application", name, error=err)


def _name(doc: dict[str, Any]) -> str | None:
    meta = doc.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    return name if isinstance(name, str) and is_valid_name(name) else None


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
