"""The hub's view of its Applications: which (app, cluster) targets exist right now.

Applications and AppProjects come from the ``apps:`` entries of ``fleetsync.yaml``: local
files and directories (read here) and Git directories (read by the hub and handed in as
``AppSource``s, see ``git_app_source``). Which definitions are used, and which projects an
entry's Applications may name, is decided by ``engine.apps.build_catalog``.

A reload has two halves. ``prepare`` does the heavy work — reading local files, parsing
what changed, expanding targets — touches none of the state the reconciler reads, and may
run in a thread so that a large (or hostile) file never blocks the event loop; it returns
None when nothing it reads changed since the last reload (compared by content hash).
``commit`` then swaps the new state in and says which targets appeared, vanished or
changed (compared by a digest of each target's definition, never by walking it).

An app whose definition is invalid or duplicated keeps its previous targets (the reconciler
refuses them: ``problems`` holds the error); an app whose file or source could not be read
keeps its last definition read. Neither ever looks like a deletion. An app that is really
removed is untracked; whether its objects are deleted is ``engine.hub.deletions``' call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import Protocol

from engine.apps import (
    AppCatalog,
    AppFile,
    AppProject,
    AppSource,
    AppTarget,
    ClusterInfo,
    ParseCache,
    build_catalog,
    carry_over,
    expand_targets,
    file_from_bytes,
    read_dir_source,
)
from engine.apps.appsets import Listing
from engine.apps.loader import expand_application_sets, wanted_listings
from engine.apps.sources import MAX_FILES_PER_SOURCE, SUFFIXES, file_stamps, too_many_files
from engine.config.hub import AppsFromDir, AppsFromGit, AppsSource
from engine.errors import ConfigError
from engine.model import TargetKey
from engine.redaction import redact, redact_url


@dataclass(frozen=True)
class CatalogChange:
    """Targets that appeared, vanished, or whose definition changed."""

    added: frozenset[TargetKey] = frozenset()
    removed: frozenset[TargetKey] = frozenset()
    changed: frozenset[TargetKey] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.added or self.removed or self.changed)


@dataclass(frozen=True)
class AppProblems:
    """What is wrong with one app's definition: errors block it, warnings do not."""

    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Prepared:
    """A reload computed off the event loop, ready for ``Catalog.commit``."""

    apps: AppCatalog
    targets: Mapping[TargetKey, AppTarget]
    digests: Mapping[TargetKey, str]
    problems: Mapping[str, AppProblems]
    inputs: str
    clusters: frozenset[str]
    wanted: frozenset[tuple[str, str]] = frozenset()  # what git generators read


class TreeFileLike(Protocol):
    """What ``git_app_source`` needs of a file read from Git."""

    @property
    def data(self) -> bytes: ...

    @property
    def is_symlink(self) -> bool: ...


@dataclass
class Catalog:
    """Applications, projects and targets as last loaded."""

    sources: Sequence[AppsSource]
    implicit_default_project: bool = False
    apps: AppCatalog = field(default_factory=AppCatalog)
    targets: dict[TargetKey, AppTarget] = field(default_factory=dict)
    problems: dict[str, AppProblems] = field(default_factory=dict)
    general_errors: tuple[str, ...] = ()
    # Git generators: the repositories they read (set by the follower), and those wanted.
    listings: dict[tuple[str, str], Listing] = field(default_factory=dict)
    wanted: frozenset[tuple[str, str]] = frozenset()
    _digests: dict[TargetKey, str] = field(default_factory=dict)
    _inputs: str | None = None
    _fingerprint: tuple[tuple[str, int, int], ...] | None = None
    _local: dict[int, AppSource] = field(default_factory=dict)
    _parser: ParseCache = field(default_factory=ParseCache)

    def defined(self) -> frozenset[str]:
        """The names of every app defined now, valid or not."""
        return frozenset(self.apps.applications) | frozenset(self.apps.invalid_apps)

    def changed_on_disk(self) -> bool:
        """True when a file under the local app paths was added, removed or modified."""
        return self._local_fingerprint() != self._fingerprint

    def reload(
        self, clusters: Sequence[ClusterInfo], git: Mapping[int, AppSource] | None = None,
        children: Mapping[str, AppSource] | None = None,
    ) -> CatalogChange:
        """Re-read every source, expand targets over ``clusters``, and report the change."""
        prepared = self.prepare(clusters, git or {}, children or {})
        return CatalogChange() if prepared is None else self.commit(prepared)

    def prepare(
        self, clusters: Sequence[ClusterInfo], git: Mapping[int, AppSource],
        children: Mapping[str, AppSource] | None = None,
    ) -> Prepared | None:
        """Read, parse and expand (blocking; safe in a thread); None when no input changed.

        ``git`` holds the sources of the Git entries by their index in ``sources``; an
        entry missing there counts as unreadable (its apps keep their last definition).
        ``children`` holds the children each parent Application published, by parent
        (``engine.hub.children``), read after the configured sources.
        """
        children = children or {}
        sources = self._sources(git) + [children[parent] for parent in sorted(children)]
        listings = dict(self.listings)
        inputs = _inputs_digest(sources, clusters, self.implicit_default_project, listings)
        if inputs == self._inputs:
            return None
        read = self._parser.parse_sources(sources)
        parsed = expand_application_sets(read, clusters, listings)
        catalog = build_catalog(sources, parsed,
                                implicit_default_project=self.implicit_default_project)
        catalog, lost = carry_over(self.apps, catalog)
        targets, digests, problems = _expand(catalog, clusters)
        for name in lost:
            problems[name] = replace(problems[name], warnings=(
                *problems[name].warnings, _lost_warning(catalog, name)))
        return Prepared(catalog, targets, digests, problems, inputs,
                        frozenset(c.name for c in clusters), wanted_listings(read))

    def commit(self, prepared: Prepared) -> CatalogChange:
        """Make ``prepared`` the current state (on the event loop) and report the change."""
        targets, digests = dict(prepared.targets), dict(prepared.digests)
        for key, target in self.targets.items():  # invalid apps keep their targets
            if (key.app in prepared.apps.invalid_apps and key not in targets
                    and key.cluster in prepared.clusters):
                targets[key], digests[key] = target, self._digests[key]
        change = CatalogChange(
            added=frozenset(targets.keys() - self.targets.keys()),
            removed=frozenset(self.targets.keys() - targets.keys()),
            changed=frozenset(k for k in targets.keys() & self.targets.keys()
                              if digests[k] != self._digests[k]),
        )  # fmt: skip
        self.apps, self.targets, self.problems = prepared.apps, targets, dict(prepared.problems)
        self._digests, self._inputs = digests, prepared.inputs
        self.wanted = prepared.wanted
        self.general_errors = tuple(str(e) for e in prepared.apps.errors)
        return change

    def target(self, key: TargetKey) -> AppTarget | None:
        """The current definition of ``key``, if it still exists."""
        return self.targets.get(key)

    def project(self, name: str) -> AppProject | None:
        """The AppProject called ``name`` (``default`` only if defined or implicit)."""
        return self.apps.project(name)

    def _sources(self, git: Mapping[int, AppSource]) -> list[AppSource]:
        fingerprint = self._local_fingerprint()
        if fingerprint != self._fingerprint:
            self._local = {
                index: read_dir_source(entry.path, projects=entry.projects,
                                       app_projects=entry.app_projects, key=_key(index))
                for index, entry in enumerate(self.sources) if isinstance(entry, AppsFromDir)
            }  # fmt: skip
            self._fingerprint = fingerprint
        return [
            self._local[index] if isinstance(entry, AppsFromDir)
            else git.get(index) or failed_git_source(index, entry, "not read yet")
            for index, entry in enumerate(self.sources)
        ]  # fmt: skip

    def _local_fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        return fingerprint([e.path for e in self.sources if isinstance(e, AppsFromDir)])


def git_app_source(
    index: int, entry: AppsFromGit, sha: str, files: Mapping[str, TreeFileLike]
) -> AppSource:
    """The ``AppSource`` of Git entry ``index`` at commit ``sha`` (URL redacted in names)."""
    found = [(path, file) for path, file in sorted(files.items())
             if path.endswith(SUFFIXES) and not file.is_symlink
             and not _hidden(path.removeprefix(entry.path).lstrip("/"))]
    if len(found) > MAX_FILES_PER_SOURCE:
        return failed_git_source(index, entry, too_many_files())
    repo = redact_url(entry.repo)
    app_files = tuple(file_from_bytes(f"{repo}//{path}@{sha[:8]}", file.data,
                                      key=f"{_key(index)}//{path}") for path, file in found)
    return replace(failed_git_source(index, entry, ""), files=app_files)


def failed_git_source(index: int, entry: AppsFromGit, error: str) -> AppSource:
    """Git entry ``index`` when it could not be read: ``error`` (redacted) says why."""
    name = f"{redact_url(entry.repo)}//{entry.path}"
    return AppSource(name, (), entry.projects, entry.app_projects, redact(error), _key(index))


def fingerprint(paths: Sequence[Path]) -> tuple[tuple[str, int, int], ...]:
    """(path, mtime, size) of every YAML file under ``paths``: changes when any file does."""
    seen: list[tuple[str, int, int]] = []
    for path in paths:
        seen.extend(islice(file_stamps(path), MAX_FILES_PER_SOURCE + 1))
    return tuple(seen)


def _key(index: int) -> str:
    return f"apps[{index}]"


def _hidden(path: str) -> bool:
    return any(part.startswith(".") for part in path.split("/"))


def _lost_warning(catalog: AppCatalog, name: str) -> str:
    file = catalog.applications[name].source_file
    return (f"Application {name}: its file or source could not be read; the last definition "
            f"read (from {file}) is kept")  # fmt: skip


def _expand(
    catalog: AppCatalog, clusters: Sequence[ClusterInfo]
) -> tuple[dict[TargetKey, AppTarget], dict[TargetKey, str], dict[str, AppProblems]]:
    targets: dict[TargetKey, AppTarget] = {}
    digests: dict[TargetKey, str] = {}
    problems: dict[str, AppProblems] = {}
    for name, app in catalog.applications.items():
        errors: list[str] = []
        try:
            for target in expand_targets(app, clusters):
                targets[target.key] = target
                digests[target.key] = _target_digest(catalog.digests.get(name, ""), target)
        except ConfigError as err:
            errors.append(str(err))
        problem = catalog.project_problem(app)
        if problem:
            errors.append(problem)
        problems[name] = AppProblems(tuple(errors), tuple(app.warnings))
    for name, invalid in catalog.invalid_apps.items():
        problems[name] = AppProblems((str(invalid),), ())
    return targets, digests, problems


def _target_digest(app_digest: str, target: AppTarget) -> str:
    """The app's content hash and what targeting chose for this cluster (options come from
    the app alone, so its hash covers them)."""
    parts = (app_digest, target.key.app, target.key.cluster, target.project, target.repo_url,
             target.revision, target.path, target.namespace)  # fmt: skip
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def _inputs_digest(
    sources: Sequence[AppSource], clusters: Sequence[ClusterInfo], implicit_default: bool,
    listings: Mapping[tuple[str, str], Listing],
) -> str:
    """A hash of everything a reload reads: sources, file contents, clusters, settings, and
    the commits git generators read."""
    digest = hashlib.sha256(f"implicit-default={implicit_default}\n".encode())
    for pair, listing in sorted(listings.items()):
        digest.update(repr((pair, listing.sha)).encode())
    for source in sources:
        digest.update(repr((source.identity, source.name, source.projects,
                            source.app_projects, source.error)).encode())  # fmt: skip
        for file in source.files:
            digest.update(repr((file.identity, file.name, file.error)).encode())
            digest.update(_file_digest(file).encode())
    for cluster in clusters:
        digest.update(repr((cluster.name, cluster.server, sorted(cluster.labels.items())))
                      .encode())  # fmt: skip
    return digest.hexdigest()


def _file_digest(file: AppFile) -> str:
    return "" if file.data is None else hashlib.sha256(file.data).hexdigest()
