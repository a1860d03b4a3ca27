"""Resources under construction and the ordered collection that holds them.

A ``Resource`` is a plain object dict plus the build-time facts kustomize keeps in
internal annotations: the ids it had before renames (for name-reference updates),
the prefixes and suffixes applied at each level, and, for generated objects, the
generator behaviour and whether a hash suffix is still due.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from engine.render.errors import RenderError
from engine.render.resid import Gvk, ResId

_T = TypeVar("_T")


@dataclass
class Resource:
    """One object being rendered, with its rename history."""

    obj: dict[str, Any]
    source: str = ""
    prev_ids: list[ResId] = field(default_factory=list)
    prefixes: list[str] = field(default_factory=list)
    suffixes: list[str] = field(default_factory=list)
    needs_hash: bool = False
    behavior: str = ""

    @property
    def gvk(self) -> Gvk:
        """The current group/version/kind."""
        return Gvk.of(self.obj)

    @property
    def metadata(self) -> dict[str, Any]:
        """The metadata mapping, created when missing."""
        meta = self.obj.get("metadata")
        if not isinstance(meta, dict):
            meta = self.obj["metadata"] = {}
        return meta

    @property
    def name(self) -> str:
        """The current metadata.name."""
        return str(self.metadata.get("name") or "")

    @name.setter
    def name(self, value: str) -> None:
        self.metadata["name"] = value

    @property
    def namespace(self) -> str:
        """The current metadata.namespace ("" when unset)."""
        return str(self.metadata.get("namespace") or "")

    @property
    def cur_id(self) -> ResId:
        """The id built from the current fields."""
        return ResId(self.gvk, self.name, self.namespace)

    @property
    def org_id(self) -> ResId:
        """The id the resource had when it was loaded or generated."""
        return self.prev_ids[0] if self.prev_ids else self.cur_id

    def store_previous_id(self) -> None:
        """Remember the current id before a transformer changes it."""
        cur = self.cur_id
        self.prev_ids.append(ResId(cur.gvk, cur.name, cur.effective_namespace))

    def all_ids(self) -> list[ResId]:
        """Previous ids then the current one."""
        return [*self.prev_ids, self.cur_id]

    def labels(self) -> dict[str, Any]:
        """The labels (a copy-free view; may be empty)."""
        labels = self.metadata.get("labels")
        return labels if isinstance(labels, dict) else {}

    def annotations(self) -> dict[str, Any]:
        """The annotations (may be empty)."""
        annotations = self.metadata.get("annotations")
        return annotations if isinstance(annotations, dict) else {}

    def copy(self) -> Resource:
        """An independent copy (the object tree and the rename history)."""
        return Resource(copy_tree(self.obj), self.source, list(self.prev_ids),
                        list(self.prefixes), list(self.suffixes), self.needs_hash,
                        self.behavior)

    def describe(self) -> str:
        """A short human name for messages: Kind/name (namespace) from file."""
        ns = f" in namespace {self.namespace}" if self.namespace else ""
        src = f" from {self.source}" if self.source else ""
        return f"{self.gvk.kind}/{self.name}{ns}{src}"


class ResourceList:
    """Resources in accumulation order, with no two sharing a current id."""

    def __init__(self, items: list[Resource] | None = None):
        self.items: list[Resource] = list(items or [])

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def copy(self) -> ResourceList:
        """An independent copy of every resource, in order."""
        return ResourceList([res.copy() for res in self.items])

    def append(self, res: Resource) -> None:
        """Add one resource; a RenderError when its id is already present."""
        self.extend([res])

    def extend(self, others: ResourceList | list[Resource]) -> None:
        """Append every resource of ``others``; a RenderError on an id already present."""
        self.adder()(others)

    def adder(self) -> Callable[[Iterable[Resource]], None]:
        """``extend`` for a run of additions during which no present id changes: the ids
        are indexed once, not at every call (linear, not quadratic, in the objects)."""
        seen = {_key(r): r for r in self.items}

        def add(others: Iterable[Resource]) -> None:
            for res in others:
                key = _key(res)
                existing = seen.get(key)
                if existing is not None:
                    raise RenderError(
                        f"may not add resource with an already registered id: "
                        f"{res.cur_id} ({res.describe()}; first from {existing.source or '?'})"
                    )
                seen[key] = res
                self.items.append(res)
        return add

    def matching(self, predicate: Callable[[Resource], bool]) -> list[Resource]:
        """The resources for which ``predicate`` holds."""
        return [res for res in self.items if predicate(res)]

    def by_any_id(self, rid: ResId) -> list[Resource]:
        """Resources whose current or any previous id equals ``rid``."""
        return self.matching(lambda r: any(i.same_as(rid) for i in r.all_ids()))

    def remove(self, res: Resource) -> None:
        """Drop one resource (by identity)."""
        self.items = [r for r in self.items if r is not res]

    def check_unique(self, where: str) -> None:
        """A RenderError when two resources now share an id (after a rename)."""
        seen: set[tuple[Gvk, str, str]] = set()
        for res in self.items:
            key = _key(res)
            if key in seen:
                raise RenderError(f"{where} produces an id conflict: {res.cur_id}")
            seen.add(key)


def copy_tree(value: _T) -> _T:
    """A copy of a parsed YAML tree (dicts, lists, scalars): faster than ``deepcopy``."""
    if isinstance(value, dict):
        return {key: copy_tree(item) for key, item in value.items()}  # type: ignore[return-value]
    if isinstance(value, list):
        return [copy_tree(item) for item in value]  # type: ignore[return-value]
    return value


def _key(res: Resource) -> tuple[Gvk, str, str]:
    cur = res.cur_id
    return (cur.gvk, cur.name, cur.effective_namespace)
