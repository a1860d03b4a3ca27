"""App of apps: the Applications and AppProjects a parent Application renders (pure).

An Application whose source renders ``argoproj.io`` (or ``fleetsync.io``) Applications,
AppProjects or ApplicationSets is a parent: those documents are never applied to a cluster,
they become definitions in the hub's catalog, owned by the parent, as Argo CD's
Application resources in its own namespace become apps. What the children may be is
limited by the parent, not by the child's author:

- a child Application may name only the parent's project, or a project the same parent
  renders (the latter only when the parent's own source may define AppProjects);
- a child AppProject is accepted only when the parent's source accepts AppProjects
  (``appProjects`` of its ``apps:`` entry, inherited down the tree);
- a child's name is claimed like any other: defined twice (by a file and a parent, or by
  two parents) means none of the definitions is used;
- at most ``MAX_CHILDREN`` documents per parent and ``MAX_DEPTH`` levels below a
  configured source.

``ChildSet`` is what one render of a parent holds; ``child_source`` turns it into the
``AppSource`` the catalog reads, so children go through the same parsing, duplicate and
carry-over rules as files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from engine.apps.sources import ANY_PROJECT, AppSource, file_from_bytes

CHILD_GROUPS = frozenset({"argoproj.io", "fleetsync.io"})
CHILD_KINDS = frozenset({"Application", "AppProject", "ApplicationSet"})
MAX_CHILDREN = 1_000  # documents one parent may render as children
MAX_DEPTH = 5  # parents below a configured source: a parent's children's children's ...
SOURCE_PREFIX = "app:"  # the identity of a parent's child source: app:<parent>


@dataclass(frozen=True)
class Child:
    """One rendered child document: kind, name, and its canonical JSON."""

    kind: str
    name: str
    data: bytes

    @property
    def label(self) -> str:
        """``Kind/name``, for messages and the parent's resource list."""
        return f"{self.kind}/{self.name}"


@dataclass(frozen=True)
class ChildSet:
    """The children one render of a parent holds, in the order rendered."""

    children: tuple[Child, ...] = ()

    @cached_property
    def digest(self) -> str:
        """A hash of every child's content: two renders with the same children agree."""
        found = hashlib.sha256()
        for child in self.children:
            found.update(hashlib.sha256(child.data).digest())
        return found.hexdigest()

    def names(self, kind: str) -> tuple[str, ...]:
        """The names of the children of ``kind``."""
        return tuple(c.name for c in self.children if c.kind == kind)


def is_child(obj: dict[str, Any]) -> bool:
    """Whether a rendered object is an Application, AppProject or ApplicationSet."""
    group = str(obj.get("apiVersion") or "").rpartition("/")[0]
    return group in CHILD_GROUPS and obj.get("kind") in CHILD_KINDS


def split_children(
    objects: Sequence[dict[str, Any]],
) -> tuple[list[dict[str, Any]], ChildSet]:
    """The objects to apply, and the children the render holds."""
    applied: list[dict[str, Any]] = []
    children: list[Child] = []
    for obj in objects:
        if is_child(obj):
            children.append(_child(obj))
        else:
            applied.append(obj)
    return applied, ChildSet(tuple(children))


def child_source(parent: str, children: ChildSet, *, project: str, app_projects: bool,
                 depth: int) -> AppSource:  # fmt: skip
    """The ``AppSource`` of ``parent``'s children: one file per child, named after the
    parent; the projects and AppProject rights the parent passes down."""
    name = f"Application {parent} (its rendered children)"
    key = f"{SOURCE_PREFIX}{parent}"
    if depth > MAX_DEPTH:
        return AppSource(name, (), (), False, f"is more than {MAX_DEPTH} levels of app of "
                         "apps below a source of fleetsync.yaml; its children are not read",
                         key)  # fmt: skip
    if len(children.children) > MAX_CHILDREN:
        return AppSource(name, (), (), False, f"renders more than {MAX_CHILDREN} "
                         "Applications, AppProjects and ApplicationSets; none is read", key)
    projects = (project, *children.names("AppProject")) if app_projects else (project,)
    if project == ANY_PROJECT:  # never inherited: a child names a project of its own
        projects = tuple(p for p in projects if p != ANY_PROJECT)
    files = tuple(file_from_bytes(f"{name}: {child.label}", child.data,
                                  key=f"{key}/{child.label}") for child in children.children)
    return AppSource(name, files, projects, app_projects, "", key)


def parent_of(source_identity: str) -> str | None:
    """The parent whose children a source identity holds, or None for a configured source."""
    if source_identity.startswith(SOURCE_PREFIX):
        return source_identity.removeprefix(SOURCE_PREFIX)
    return None


def _child(obj: dict[str, Any]) -> Child:
    metadata = obj.get("metadata")
    name = str(metadata.get("name") or "") if isinstance(metadata, dict) else ""
    data = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()
    return Child(str(obj.get("kind")), name, data)
