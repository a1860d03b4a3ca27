"""The hub's view of its Applications: which (app, cluster) targets exist right now.

Applications and AppProjects come from the files and directories named in
``fleetsync.yaml`` (and from Git directories, read by the hub and handed in as texts).
``Catalog.reload`` re-reads them and the registered clusters and says which targets
appeared, vanished or changed. An app whose file or document is broken keeps its previous
targets: a typo must never look like a deletion. An app that is really removed is only
untracked; its objects stay in the clusters (no cascade delete).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from engine.apps import AppCatalog, AppProject, AppTarget, ClusterInfo, expand_targets
from engine.apps.loader import load_documents, parse_texts
from engine.errors import ConfigError
from engine.model import TargetKey

_SUFFIXES = (".yaml", ".yml")


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


@dataclass
class Catalog:
    """Applications, projects and targets as last loaded."""

    paths: Sequence[Path]
    apps: AppCatalog = field(default_factory=AppCatalog)
    targets: dict[TargetKey, AppTarget] = field(default_factory=dict)
    problems: dict[str, AppProblems] = field(default_factory=dict)
    general_errors: tuple[str, ...] = ()
    _fingerprint: tuple[tuple[str, int, int], ...] | None = None

    def changed_on_disk(self) -> bool:
        """True when a file under the app paths was added, removed or modified."""
        return fingerprint(self.paths) != self._fingerprint

    def reload(
        self, clusters: Sequence[ClusterInfo], git_texts: Iterable[tuple[str, str]] = ()
    ) -> CatalogChange:
        """Re-read every source, expand targets over ``clusters``, and report the change."""
        self._fingerprint = fingerprint(self.paths)
        catalog = merge(load_documents(list(self.paths)), parse_texts(git_texts))
        targets, problems = _expand(catalog, clusters)
        targets.update(self._kept(catalog, targets))
        change = _compare(self.targets, targets)
        self.apps, self.targets, self.problems = catalog, targets, problems
        self.general_errors = tuple(str(e) for e in catalog.errors)
        return change

    def target(self, key: TargetKey) -> AppTarget | None:
        """The current definition of ``key``, if it still exists."""
        return self.targets.get(key)

    def project(self, name: str) -> AppProject | None:
        """The AppProject called ``name`` (``default`` always exists)."""
        return self.apps.project(name)

    def _kept(
        self, catalog: AppCatalog, targets: Mapping[TargetKey, AppTarget]
    ) -> dict[TargetKey, AppTarget]:
        """Previous targets of apps that vanished only because their source is broken."""
        broken = set(catalog.invalid_apps)
        for key in self.targets:
            app = self.apps.applications.get(key.app)
            if app is not None and app.source_file in catalog.failed_sources:
                broken.add(key.app)
        return {
            key: target
            for key, target in self.targets.items()
            if key.app in broken and key.app not in catalog.applications and key not in targets
        }


def _expand(
    catalog: AppCatalog, clusters: Sequence[ClusterInfo]
) -> tuple[dict[TargetKey, AppTarget], dict[str, AppProblems]]:
    targets: dict[TargetKey, AppTarget] = {}
    problems: dict[str, AppProblems] = {}
    for name, app in catalog.applications.items():
        errors: list[str] = []
        try:
            for target in expand_targets(app, clusters):
                targets[target.key] = target
        except ConfigError as err:
            errors.append(str(err))
        if catalog.project(app.project) is None:
            errors.append(f"Application {name}: project {app.project!r} is not defined")
        problems[name] = AppProblems(tuple(errors), tuple(app.warnings))
    for name, invalid in catalog.invalid_apps.items():
        problems[name] = AppProblems((str(invalid),), ())
    return targets, problems


def _compare(
    old: Mapping[TargetKey, AppTarget], new: Mapping[TargetKey, AppTarget]
) -> CatalogChange:
    return CatalogChange(
        added=frozenset(new.keys() - old.keys()),
        removed=frozenset(old.keys() - new.keys()),
        changed=frozenset(k for k in new.keys() & old.keys() if new[k] != old[k]),
    )


def merge(first: AppCatalog, second: AppCatalog) -> AppCatalog:
    """One catalog of both; on a name defined in both, the first wins and it is an error."""
    errors = list(first.errors) + list(second.errors)
    applications = dict(first.applications)
    for name, app in second.applications.items():
        if name in applications:
            errors.append(ConfigError(
                f"{app.source_file}: Application {name} is already defined in "
                f"{applications[name].source_file}"
            ))
            continue
        applications[name] = app
    projects = {**second.projects, **first.projects}
    return AppCatalog(
        applications, projects, tuple(errors), first.warnings + second.warnings,
        first.failed_sources | second.failed_sources,
        {**second.invalid_apps, **first.invalid_apps},
    )


def fingerprint(paths: Sequence[Path]) -> tuple[tuple[str, int, int], ...]:
    """(path, mtime, size) of every YAML file under ``paths``: changes when any file does."""
    seen: list[tuple[str, int, int]] = []
    for path in paths:
        files = [path] if path.is_file() else sorted(path.rglob("*")) if path.is_dir() else []
        for file in files:
            if file.suffix in _SUFFIXES and file.is_file():
                stat = file.stat()
                seen.append((str(file), stat.st_mtime_ns, stat.st_size))
    return tuple(seen)
