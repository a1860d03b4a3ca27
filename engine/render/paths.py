"""Dotted field paths into objects, as kustomize's ``replacements`` and ``vars`` read them.

``a.b.[name=x].c``: fields are split on dots, a bracketed part stays whole (``[a.b]`` is
a map key holding dots, ``[name=x]`` selects list items), ``\\.`` escapes a dot. Two
readers differ on purpose, as in kustomize:

- ``lookup`` finds one value (a replacement's source, a var's field): a number is a list
  index, ``-`` the last item, ``[k=v]`` the first item whose ``k`` *equals* ``v``; a ``*``
  is refused.
- ``Matcher`` finds every place to write (a replacement's targets): ``*`` is every item of
  a list, ``[k=v]`` every item whose ``k`` *contains a match* of the regular expression
  ``v`` (Go's unanchored ``MatchString``), and with ``create`` the missing fields, list
  items and the last field are made on the way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.render import regex
from engine.render.errors import RenderError
from engine.render.transformers import scalar_string


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
DEFAULT_FIELD_PATH = "metadata.name"


def split(path: str) -> list[str]:
    """``path`` split on unescaped dots, bracketed parts kept whole (kustomize's
    SmarterPathSplitter): ``[k=v]`` keeps its brackets, ``[a.b]`` becomes ``a.b``."""
    parts = path.split(".")
    if len(parts) > 1 and parts[0] == "":
        parts = parts[1:]
    joined: list[str] = [parts[0]]
    for part in parts[1:]:
        if joined[-1].endswith("\\"):
            joined[-1] = joined[-1][:-1] + "." + part
        else:
            joined.append(part)
    result: list[str] = []
    index = 0
    while index < len(joined):
        part = joined[index]
        if part.startswith("[") and not part.endswith("]"):
            group = [part]
            while index < len(joined) - 1:
                index += 1
                group.append(joined[index])
                if joined[index].endswith("]"):
                    break
            part = ".".join(group)
            part = part if "=" in part else part.strip("[]")
        result.append(part)
        index += 1
    return result


def split_indexes(parts: list[str]) -> list[str]:
    """``ports[0]`` as ``ports``, ``0`` (how a var's field path names list items)."""
    result: list[str] = []
    for part in parts:
        head, bracket, tail = part.rpartition("[")
        if part.endswith("]") and bracket and _is_index(tail[:-1]):
            if head:
                result.append(head)
            result.append(tail[:-1])
        else:
            result.append(part)
    return result


def _is_index(part: str) -> bool:
    """A list index as Go's Atoi reads one (ASCII digits only)."""
    return part.isascii() and part.isdigit()


def _item_selector(part: str) -> tuple[str, str] | None:
    """(key, value) of a ``[key=value]`` part ("" key: the item itself); None otherwise."""
    if not (part.startswith("[") and part.endswith("]")):
        return None
    key, equals, value = part[1:-1].partition("=")
    if not equals:
        raise RenderError(f"path part {part!r}: list path element must contain "
                          "fieldName=fieldValue for element to match")
    return key, value


def lookup(obj: Any, path: str | list[str], *, empty_is_missing: bool = True) -> Any:
    """The value at ``path`` in ``obj`` (MISSING when absent or null, and when an empty
    mapping or list if ``empty_is_missing``)."""
    node = obj
    for part in [p.strip() for p in (split(path) if isinstance(path, str) else path)]:
        if not part:
            continue
        node = _lookup_step(node, part)
        if node is MISSING or node is None:
            return MISSING
    if empty_is_missing and node in ({}, []):
        return MISSING
    return node


def _lookup_step(node: Any, part: str) -> Any:
    if part == "*":
        raise RenderError("wildcard is not supported in a source field path")
    selector = _item_selector(part)
    if isinstance(node, list):
        if part == "-":
            return node[-1] if node else MISSING
        if _is_index(part.removeprefix("-")):
            if part.startswith("-"):
                raise RenderError(f"array index {part} cannot be negative")
            return node[int(part)] if int(part) < len(node) else MISSING
        if selector is not None:
            key, value = selector
            for item in node:
                found = item if not key else (item.get(key, MISSING)
                                              if isinstance(item, dict) else MISSING)
                if found is not MISSING and not isinstance(found, dict | list) \
                        and scalar_string(found) == value:
                    return item
        return MISSING
    if isinstance(node, dict) and selector is None and not _is_index(part.removeprefix("-")):
        return node.get(part, MISSING)
    return MISSING


@dataclass(frozen=True)
class Place:
    """A place to write: a mapping and its key, or a list and an index."""

    container: dict[str, Any] | list[Any]
    key: Any
    created: bool = False

    @property
    def value(self) -> Any:
        """The value now at this place."""
        return self.container[self.key]

    def set(self, value: Any) -> None:
        """Write ``value`` here."""
        self.container[self.key] = value


class Matcher:
    """Every place a target field path reaches in an object (kustomize's PathMatcher)."""

    def __init__(self, path: str, *, create: Callable[[], Any] | None = None):
        self.parts = split(path)
        self.create = create  # makes the last field's value when missing (None: no create)

    def places(self, obj: dict[str, Any]) -> list[Place]:
        """The places reached (created on the way when ``create`` is set)."""
        if not self.parts:
            return []
        found: list[Place] = []
        self._walk(obj, 0, found)
        return found

    def _walk(self, node: Any, index: int, found: list[Place]) -> None:
        part = self.parts[index]
        if _is_index(part) or part == "*" or part.startswith("["):
            if not isinstance(node, list):
                raise RenderError(f"{part!r} needs a list, found {type(node).__name__}")
            for position in self._items(node, index):
                self._next(node, position, index, found)
            return
        if not isinstance(node, dict):
            raise RenderError(f"{part!r} needs a mapping, found {type(node).__name__}")
        created = part not in node or node[part] is None
        if created:
            if self.create is None:
                return
            node[part] = self._new(index + 1)
        self._next(node, part, index, found, created)

    def _next(self, container: Any, key: Any, index: int, found: list[Place],
              created: bool = False) -> None:
        if index + 1 == len(self.parts):
            found.append(Place(container, key, created))
        else:
            self._walk(container[key], index + 1, found)

    def _new(self, index: int) -> Any:
        """A new value for the part before ``parts[index]``: a list if that part selects
        items, a map if it names a field, the created leaf at the end."""
        if index == len(self.parts):
            assert self.create is not None
            return self.create()
        nxt = self.parts[index]
        return [] if _is_index(nxt) or nxt.startswith("[") else {}

    def _items(self, node: list[Any], index: int) -> list[int]:
        part = self.parts[index]
        if part == "*":
            return list(range(len(node)))
        if _is_index(part):
            position = int(part)
            if position == len(node) and self.create is not None:
                node.append(None)
            if position >= len(node):
                raise RenderError(f"index {position} specified but only {len(node)} "
                                  "elements found")
            if node[position] is None and self.create is not None:
                node[position] = self._new(index + 1)
            return [position]
        key, pattern = _item_selector(part) or ("", "")
        matches = regex.matcher(f"(?s:.*?)(?:{pattern})", f"path part {part!r}")
        hits = [i for i, item in enumerate(node) if _item_text(item, key) is not None
                and matches(_item_text(item, key) or "")]
        if not hits and self.create is not None:
            node.append({key: pattern} if key else pattern)
            hits = [len(node) - 1]
        return hits


def _item_text(item: Any, key: str) -> str | None:
    """The text a ``[key=...]`` part matches against (None: the item cannot match)."""
    value = item if not key else (item.get(key) if isinstance(item, dict) else None)
    if value is None or isinstance(value, dict | list):
        return None
    return scalar_string(value)
