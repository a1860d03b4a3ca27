"""Loading Applications and AppProjects from YAML files into one ``AppCatalog``.

``load_documents`` is the only function of ``engine.apps`` that touches the filesystem: it
reads files and directories (recursively: ``*.yaml`` and ``*.yml``, hidden entries skipped,
in sorted order) and hands their text to ``parse_texts``, which is pure and also serves
Applications read from Git. Every document is parsed on its own: a broken file or document
never stops the others; its ``ConfigError`` is kept in ``AppCatalog.errors``. Documents of
other kinds are reported and skipped. A name defined twice is an error naming both files;
the first definition (in path order) is kept.

Callers that delete what vanished from the catalog must first look at ``failed_sources``
and ``invalid_apps``: an Application whose file or document is broken is absent from
``applications`` but has not been deleted by its author.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from engine.apps.application import Application, parse_application
from engine.apps.project import DEFAULT_PROJECT, AppProject, parse_project
from engine.errors import ConfigError

_GROUPS = ("argoproj.io/", "fleetsync.io/")
_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class AppCatalog:
    """Every Application and AppProject found, by name, with what went wrong."""

    applications: Mapping[str, Application] = field(default_factory=dict)
    projects: Mapping[str, AppProject] = field(default_factory=dict)
    errors: tuple[ConfigError, ...] = ()
    warnings: tuple[str, ...] = ()
    failed_sources: frozenset[str] = frozenset()
    invalid_apps: Mapping[str, ConfigError] = field(default_factory=dict)

    def project(self, name: str) -> AppProject | None:
        """The project called ``name``; ``default`` exists even when no file defines it."""
        if name in self.projects:
            return self.projects[name]
        return DEFAULT_PROJECT if name == DEFAULT_PROJECT.name else None


def load_documents(paths: Sequence[Path]) -> AppCatalog:
    """Read files and directories of YAML and parse the Applications and AppProjects in them."""
    texts: list[tuple[str, str]] = []
    errors: dict[str, ConfigError] = {}
    for file in _yaml_files(paths, errors):
        try:
            texts.append((str(file), file.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as err:
            errors[str(file)] = ConfigError(f"{file}: cannot read: {_reason(err)}")
    catalog = parse_texts(texts)
    return AppCatalog(
        catalog.applications,
        catalog.projects,
        tuple(errors.values()) + catalog.errors,
        catalog.warnings,
        catalog.failed_sources | set(errors),
        catalog.invalid_apps,
    )


def parse_texts(texts: Iterable[tuple[str, str]]) -> AppCatalog:
    """Parse (source name, YAML text) pairs into a catalog (pure)."""
    builder = _Builder()
    for source, text in texts:
        builder.add_text(source, text)
    return builder.catalog()


def _yaml_files(paths: Sequence[Path], errors: dict[str, ConfigError]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.suffix in _SUFFIXES
                    and p.is_file()
                    and not any(part.startswith(".") for part in p.relative_to(path).parts)
                )
            )
        elif path.is_file():
            files.append(path)
        else:
            errors[str(path)] = ConfigError(f"{path}: no such file or directory")
    return files


def _reason(err: Exception) -> str:
    return err.strerror or str(err) if isinstance(err, OSError) else "not UTF-8 text"


class _Builder:
    """Collects documents one by one, keeping errors and first definitions."""

    def __init__(self) -> None:
        self.apps: dict[str, Application] = {}
        self.projects: dict[str, AppProject] = {}
        self.errors: list[ConfigError] = []
        self.warnings: list[str] = []
        self.failed: set[str] = set()
        self.invalid: dict[str, ConfigError] = {}

    def add_text(self, source: str, text: str) -> None:
        try:
            docs = list(yaml.safe_load_all(text))
        except yaml.YAMLError as err:
            mark = getattr(err, "problem_mark", None)
            where = f" (line {mark.line + 1})" if mark is not None else ""
            problem = getattr(err, "problem", None) or "syntax error"
            self.errors.append(ConfigError(f"{source}: not valid YAML{where}: {problem}"))
            self.failed.add(source)
            return
        for index, doc in enumerate(docs):
            if doc is not None:
                self.add_document(source, index, doc)

    def add_document(self, source: str, index: int, doc: Any) -> None:
        if not isinstance(doc, dict):
            self.errors.append(ConfigError(f"{source}: document {index + 1}: not a mapping"))
            self.failed.add(source)
            return
        kind, api_version = doc.get("kind"), str(doc.get("apiVersion") or "")
        if kind not in ("Application", "AppProject") or not api_version.startswith(_GROUPS):
            self.warnings.append(
                f"{source}: document {index + 1} ({api_version} {kind}) is "
                "not an Application or AppProject; skipped"
            )
            return
        try:
            if kind == "Application":
                self._keep(self.apps, parse_application(doc, source=source))
            else:
                self._keep(self.projects, parse_project(doc, source=source))
        except ConfigError as err:
            self.errors.append(err)
            self._mark_invalid(source, doc, err)

    def _keep(self, table: dict[str, Any], item: Application | AppProject) -> None:
        kind = type(item).__name__
        first = table.get(item.name)
        if first is not None:
            self.errors.append(
                ConfigError(
                    f"{item.source_file}: {kind} {item.name} is already defined in "
                    f"{first.source_file}; this definition is ignored"
                )
            )
            return
        table[item.name] = item

    def _mark_invalid(self, source: str, doc: dict[str, Any], err: ConfigError) -> None:
        meta = doc.get("metadata")
        name = meta.get("name") if isinstance(meta, dict) else None
        if doc.get("kind") == "Application" and isinstance(name, str) and name:
            self.invalid.setdefault(name, err)
        else:
            self.failed.add(source)

    def catalog(self) -> AppCatalog:
        invalid = {n: e for n, e in self.invalid.items() if n not in self.apps}
        return AppCatalog(
            dict(self.apps),
            dict(self.projects),
            tuple(self.errors),
            tuple(self.warnings),
            frozenset(self.failed),
            invalid,
        )
