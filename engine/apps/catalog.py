"""Which definitions are used: one ``AppCatalog`` from the parsed files of every source (pure).

The operator, not the Application author, decides what a source may do:

- An Application may name only a project its source allows (``AppSource.projects``; ``*``
  allows any). Naming another is an error on that app: it is never reconciled.
- AppProject documents are accepted only from sources with ``app_projects``; elsewhere
  they are reported and ignored.
- A name defined twice (in one file, one source or two sources) is an error for every
  definition: none is used, so no file can take over another's app (its inventory and
  tracking ids) by being read first. The same holds for AppProjects.
- The permissive implicit ``default`` project (anything, anywhere) exists only when the
  operator turns ``implicit_default_project`` on.

A file or source that cannot be read (broken YAML, an unreachable repository) must not
look like a deletion, nor free its names for someone else: ``carry_over`` keeps the names
it defined before claimed, restores their last definitions, and makes any other definition
of such a name an error. Callers that delete what vanished must also look at
``invalid_apps``: an Application whose definition is invalid or duplicated is absent from
``applications`` but was not deleted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from engine.apps.application import Application
from engine.apps.appsets import ApplicationSet
from engine.apps.children import parent_of
from engine.apps.project import DEFAULT_PROJECT, AppProject
from engine.apps.sources import (
    MAX_DOCUMENTS_PER_SOURCE,
    MAX_FILES_PER_SOURCE,
    AppFile,
    AppSource,
    too_many_files,
)
from engine.errors import ConfigError


@dataclass(frozen=True)
class Definition:
    """One Application or AppProject document: parsed (``item``) or invalid (``error``)."""

    kind: str
    name: str
    item: Application | AppProject | ApplicationSet | None = None
    error: ConfigError | None = None
    digest: str = ""


@dataclass(frozen=True)
class ParsedFile:
    """What one file defines; ``failed`` when some of it could not be read at all."""

    name: str
    definitions: tuple[Definition, ...] = ()
    errors: tuple[ConfigError, ...] = ()
    warnings: tuple[str, ...] = ()
    failed: bool = False
    documents: int = 0


@dataclass(frozen=True)
class Origin:
    """Where an Application was defined: the stable identities of its source and file."""

    source: str
    file: str


@dataclass(frozen=True)
class AppCatalog:
    """Every Application and AppProject in use, by name, with what went wrong."""

    applications: Mapping[str, Application] = field(default_factory=dict)
    projects: Mapping[str, AppProject] = field(default_factory=dict)
    errors: tuple[ConfigError, ...] = ()
    warnings: tuple[str, ...] = ()
    failed_sources: frozenset[str] = frozenset()
    invalid_apps: Mapping[str, ConfigError] = field(default_factory=dict)
    invalid_projects: Mapping[str, ConfigError] = field(default_factory=dict)
    origins: Mapping[str, Origin] = field(default_factory=dict)
    digests: Mapping[str, str] = field(default_factory=dict)
    implicit_default_project: bool = False
    project_origins: Mapping[str, Origin] = field(default_factory=dict)
    app_claims: Mapping[Origin, frozenset[str]] = field(default_factory=dict)
    project_claims: Mapping[Origin, frozenset[str]] = field(default_factory=dict)

    def project(self, name: str) -> AppProject | None:
        """The usable project called ``name`` (the implicit ``default`` only if enabled)."""
        if name in self.projects:
            return self.projects[name]
        if name == DEFAULT_PROJECT.name and self.implicit_default_project:
            return None if name in self.invalid_projects else DEFAULT_PROJECT
        return None

    def project_problem(self, app: Application) -> str | None:
        """Why ``app``'s project cannot be used, or None when it can."""
        name = app.project
        if self.project(name) is not None:
            return None
        where = f"Application {app.name}: project {name!r}"
        if name in self.invalid_projects:
            return f"{where} cannot be used: {self.invalid_projects[name]}"
        if name == DEFAULT_PROJECT.name:
            return (f"{where} is not defined: define an AppProject named default (in an apps "
                    "source with appProjects: true), or set implicitDefaultProject: true in "
                    "fleetsync.yaml to allow everything to apps of project default")  # fmt: skip
        return f"{where} is not defined"

    def failed(self, origin: Origin) -> bool:
        """Whether the file or source of ``origin`` could not be read this time."""
        return bool({origin.source, origin.file} & self.failed_sources)


def build_catalog(
    sources: Sequence[AppSource], parsed: Sequence[Sequence[ParsedFile]], *,
    implicit_default_project: bool = False,
) -> AppCatalog:
    """One catalog from every source and its parsed files (same order as ``sources``)."""
    builder = _Builder()
    for source, files in zip(sources, parsed, strict=True):
        builder.add_source(source, files)
    return builder.catalog(implicit_default_project)


def carry_over(previous: AppCatalog, current: AppCatalog) -> tuple[AppCatalog, tuple[str, ...]]:
    """``current`` with what its unreadable files and sources defined in ``previous``.

    Their names stay claimed: a name they defined is restored to its last definition
    (returned: the Applications kept so), or stays invalid, and a definition of it anywhere
    else is an error, so an outage of one source never hands its apps to another.
    """
    lost_apps = _lost(previous.app_claims, current)
    lost_projects = _lost(previous.project_claims, current)
    if not lost_apps and not lost_projects:
        return current, ()
    apps = _Table(dict(current.applications), dict(current.invalid_apps),
                  dict(current.origins), "Application")  # fmt: skip
    projects = _Table(dict(current.projects), dict(current.invalid_projects),
                      dict(current.project_origins), "AppProject")  # fmt: skip
    digests = dict(current.digests)
    kept: list[str] = []
    for origin, names in lost_apps:
        for name in sorted(names):
            if apps.keep(name, origin, previous.applications, previous.invalid_apps,
                         previous.origins):  # fmt: skip
                digests[name] = previous.digests.get(name, "")
                kept.append(name)
    for origin, names in lost_projects:
        for name in sorted(names):
            projects.keep(name, origin, previous.projects, previous.invalid_projects,
                          previous.project_origins)  # fmt: skip
    return replace(
        current,
        applications=apps.items, invalid_apps=apps.invalid, origins=apps.origins,
        projects=projects.items, invalid_projects=projects.invalid,
        project_origins=projects.origins, digests=digests,
        errors=current.errors + apps.errors + projects.errors,
        app_claims=_union(current.app_claims, lost_apps),
        project_claims=_union(current.project_claims, lost_projects),
    ), tuple(kept)


def _union(
    claims: Mapping[Origin, frozenset[str]], more: list[tuple[Origin, frozenset[str]]]
) -> dict[Origin, frozenset[str]]:
    merged = dict(claims)
    for origin, names in more:
        merged[origin] = merged.get(origin, frozenset()) | names
    return merged


def _lost(
    claims: Mapping[Origin, frozenset[str]], current: AppCatalog
) -> list[tuple[Origin, frozenset[str]]]:
    return [(origin, names) for origin, names in claims.items() if current.failed(origin)]


@dataclass
class _Table:
    """Definitions of one kind being corrected by ``carry_over``."""

    items: dict[str, Any]
    invalid: dict[str, ConfigError]
    origins: dict[str, Origin]
    kind: str
    errors: tuple[ConfigError, ...] = ()

    def keep(
        self, name: str, origin: Origin, items: Mapping[str, Any],
        invalid: Mapping[str, ConfigError], origins: Mapping[str, Origin],
    ) -> bool:
        """Keep ``name`` claimed for ``origin``; True when its last definition is restored."""
        if name in self.items and self.origins.get(name) != origin:
            other = self.items.pop(name)
            self.origins.pop(name, None)
            self.invalid[name] = ConfigError(
                f"{self.kind} {name} is defined in {other.source_file}, and also in "
                f"{_where(items.get(name), origin)}, which cannot be read now; none of the "
                "definitions is used"
            )
            self.errors += (self.invalid[name],)
        elif name in self.items or name in self.invalid:
            pass
        elif origins.get(name) == origin and name in items:
            self.items[name], self.origins[name] = items[name], origin
            return True
        elif name in invalid:
            self.invalid[name] = invalid[name]
        return False


def _where(item: Any, origin: Origin) -> str:
    return item.source_file if item is not None else origin.file


@dataclass(frozen=True)
class _Claim:
    """One definition of a name, and where it came from."""

    file: str
    origin: Origin
    definition: Definition
    error: ConfigError | None


class _Builder:
    def __init__(self) -> None:
        self.apps: dict[str, list[_Claim]] = {}
        self.projects: dict[str, list[_Claim]] = {}
        self.errors: list[ConfigError] = []
        self.warnings: list[str] = []
        self.failed: set[str] = set()

    def add_source(self, source: AppSource, files: Sequence[ParsedFile]) -> None:
        problem = source.error or _source_limit(source, files)
        if problem:
            self.errors.append(ConfigError(f"{source.name}: {problem}"))
            self.failed.add(source.identity)
            return
        for file, parsed in zip(source.files, files, strict=True):
            self.add_file(source, file, parsed)

    def add_file(self, source: AppSource, file: AppFile, parsed: ParsedFile) -> None:
        self.errors.extend(parsed.errors)
        self.warnings.extend(parsed.warnings)
        if parsed.failed:
            self.failed.add(file.identity)
        origin = Origin(source.identity, file.identity)
        for definition in parsed.definitions:
            if definition.kind == "AppProject":
                self._add_project(source, file, origin, definition)
            else:
                self._add_app(source, file, origin, definition)

    def _add_app(self, source: AppSource, file: AppFile, origin: Origin, d: Definition) -> None:
        error = d.error
        app = d.item
        if error is None and isinstance(app, Application) and not source.allows(app.project):
            allowed = ", ".join(source.projects) or "none"
            parent = parent_of(source.identity)
            rule = ("the parent's project, or one the parent renders when its source accepts "
                    "AppProjects" if parent else "see projects of this apps entry in "
                    "fleetsync.yaml")  # fmt: skip
            error = ConfigError(
                f"{file.name}: Application {d.name}: project {app.project!r} is not allowed "
                f"for Applications from {source.name} (allowed projects: {allowed}; {rule})"
            )
        if error is not None:
            self.errors.append(error)
        self.apps.setdefault(d.name, []).append(_Claim(file.name, origin, d, error))

    def _add_project(
        self, source: AppSource, file: AppFile, origin: Origin, d: Definition
    ) -> None:
        if not source.app_projects:
            self.errors.append(ConfigError(
                f"{file.name}: AppProject {d.name}: ignored: AppProjects are not accepted "
                f"from {source.name} (appProjects: true on this apps entry in fleetsync.yaml "
                "accepts them)"
            ))
            return
        if d.error is not None:
            self.errors.append(d.error)
        self.projects.setdefault(d.name, []).append(_Claim(file.name, origin, d, d.error))

    def catalog(self, implicit_default_project: bool) -> AppCatalog:
        apps, invalid_apps = self._resolve("Application", self.apps)
        projects, invalid_projects = self._resolve("AppProject", self.projects)
        return AppCatalog(
            applications={n: c.definition.item for n, c in apps.items()
                          if isinstance(c.definition.item, Application)},
            projects={n: c.definition.item for n, c in projects.items()
                      if isinstance(c.definition.item, AppProject)},
            errors=tuple(self.errors),
            warnings=tuple(self.warnings),
            failed_sources=frozenset(self.failed),
            invalid_apps=invalid_apps,
            invalid_projects=invalid_projects,
            origins={n: c.origin for n, c in apps.items()},
            digests={n: c.definition.digest for n, c in apps.items()},
            implicit_default_project=implicit_default_project,
            project_origins={n: c.origin for n, c in projects.items()},
            app_claims=_claims(self.apps),
            project_claims=_claims(self.projects),
        )  # fmt: skip

    def _resolve(
        self, kind: str, claims: Mapping[str, list[_Claim]]
    ) -> tuple[dict[str, _Claim], dict[str, ConfigError]]:
        """The one valid definition of each name; every other name with its error."""
        used: dict[str, _Claim] = {}
        invalid: dict[str, ConfigError] = {}
        for name, found in claims.items():
            if len(found) > 1:
                invalid[name] = _defined_twice(kind, name, [c.file for c in found])
                self.errors.append(invalid[name])
            elif found[0].error is not None:
                invalid[name] = found[0].error
            else:
                used[name] = found[0]
        return used, invalid


def _claims(claims: Mapping[str, list[_Claim]]) -> dict[Origin, frozenset[str]]:
    """The names each file defines (valid or not)."""
    found: dict[Origin, set[str]] = {}
    for name, definitions in claims.items():
        for claim in definitions:
            found.setdefault(claim.origin, set()).add(name)
    return {origin: frozenset(names) for origin, names in found.items()}


def _source_limit(source: AppSource, files: Sequence[ParsedFile]) -> str:
    if len(source.files) > MAX_FILES_PER_SOURCE:
        return too_many_files()
    if sum(f.documents for f in files) > MAX_DOCUMENTS_PER_SOURCE:
        return f"holds more than {MAX_DOCUMENTS_PER_SOURCE} documents; none of them is read"
    return ""


def _defined_twice(kind: str, name: str, files: list[str]) -> ConfigError:
    unique = list(dict.fromkeys(files))
    where = f"in {unique[0]}" if len(unique) == 1 else "in " + " and ".join(unique)
    return ConfigError(
        f"{kind} {name} is defined {len(files)} times ({where}); none of the definitions is "
        "used until only one remains"
    )
