"""App of apps in the hub: the children each parent's last sync published.

A parent's reconcile takes the Applications, AppProjects and ApplicationSets out of its
render (``engine.apps.children``); they are published here when the parent syncs, as
Argo CD creates child Applications when the parent's sync applies them: a parent whose
children differ from what it last published is OutOfSync, and automated sync (or a user's
sync) publishes them. The follower then reloads the catalog with one ``AppSource`` per
parent, so children are created, updated and removed with the parent's render: a child
the render drops is removed from the catalog, its objects following its own deletion
policy under the mass-deletion guard (``engine.hub.deletions``), as are the children of
a parent that is no longer defined.

A render that fails publishes nothing, so the children stay as they were. Published
children live in memory: after a restart a parent's children come back at its first
reconcile (when the commit it runs is the one it had synced), and nothing is deleted in
between since the hub never saw them go.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Sequence

from engine.apps import AppSource
from engine.apps.catalog import AppCatalog
from engine.apps.children import MAX_DEPTH, ChildSet, child_source, parent_of
from engine.config.hub import AppsSource

ROOT_KEY = "apps["  # the identity of a configured source: apps[<index>]


class Children:
    """The children published by each parent, and the sources the catalog reads for them."""

    def __init__(self) -> None:
        self._sets: dict[str, ChildSet] = {}
        self._built: dict[str, AppSource] = {}  # the source last read for each parent
        self.changed = asyncio.Event()  # set when a parent published something new

    def published(self, parent: str) -> ChildSet | None:
        """What ``parent`` published last (None: nothing since the hub started)."""
        return self._sets.get(parent)

    def differs(self, parent: str, children: ChildSet) -> bool:
        """Whether publishing ``children`` for ``parent`` would change the catalog."""
        found = self._sets.get(parent)
        if found is None:
            return bool(children.children)
        return found.digest != children.digest

    def publish(self, parent: str, children: ChildSet) -> None:
        """Make ``children`` the parent's; the follower reloads the catalog when new."""
        if self.differs(parent, children):  # an app that renders none is no parent
            self._sets[parent] = children
            self.changed.set()

    def drop_missing(self, defined: Collection[str]) -> bool:
        """Forget the children of parents no longer ``defined`` (the next reload removes
        them); whether any were forgotten."""
        gone = [parent for parent in self._sets if parent not in defined]
        for parent in gone:
            del self._sets[parent]
            self._built.pop(parent, None)
        if gone:
            self.changed.set()
        return bool(gone)

    def sources(self, apps: AppCatalog, entries: Sequence[AppsSource]) -> dict[str, AppSource]:
        """One ``AppSource`` per parent, with the project and AppProject rights it passes
        down (found from where the parent itself was defined)."""
        found: dict[str, AppSource] = {}
        for parent, children in sorted(self._sets.items()):
            app = apps.applications.get(parent)
            if app is not None:
                depth, app_projects = _lineage(parent, apps, entries)
                self._built[parent] = child_source(parent, children, project=app.project,
                                                   app_projects=app_projects, depth=depth)
            if parent in self._built:  # an invalid parent's children stay as they were
                found[parent] = self._built[parent]
        return found


def _lineage(parent: str, apps: AppCatalog, entries: Sequence[AppsSource]) -> tuple[int, bool]:
    """How many parents lie between ``parent`` and a configured source (1: its source is
    configured), and whether that source accepts AppProjects."""
    depth, name = 1, parent
    seen: set[str] = set()
    while name not in seen:
        seen.add(name)
        origin = apps.origins.get(name)
        above = parent_of(origin.source) if origin else None
        if above is None:
            return depth, _accepts_projects(origin.source if origin else "", entries)
        depth, name = depth + 1, above
    return MAX_DEPTH + 1, False  # a loop of parents: refused, never trusted


def _accepts_projects(identity: str, entries: Sequence[AppsSource]) -> bool:
    if not identity.startswith(ROOT_KEY):
        return False
    try:
        return entries[int(identity.removeprefix(ROOT_KEY).rstrip("]"))].app_projects
    except (ValueError, IndexError):
        return False

