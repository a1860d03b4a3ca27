"""Field paths inside an object, and how lists are matched item by item (pure).

A path is a tuple of segments: a ``str`` is a map key, an ``Item`` is one list element,
named by the values of its key fields when the list is keyed (containers by ``name``,
ports by ``containerPort``...) or by its position otherwise. Without the OpenAPI schema the
list keys are inferred: the first candidate field present, scalar and unique in every item
of both sides wins. Paths print as ``.spec.template.spec.containers[name=web].image``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class Item:
    """One list element: by key fields (``keys``) or, for unkeyed lists, by ``index``."""

    keys: tuple[tuple[str, Scalar], ...] = ()
    index: int | None = None


Segment = str | Item
Path = tuple[Segment, ...]

# Tried in order; a candidate must be present, scalar and unique in every item.
_KEY_CANDIDATES: tuple[tuple[str, ...], ...] = (
    ("name",),
    ("containerPort",),
    ("port",),
    ("mountPath",),
    ("devicePath",),
    ("type",),
    ("ip",),
    ("containerPort", "protocol"),
    ("port", "protocol"),
)
_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def list_keys(*lists: Sequence[Any]) -> tuple[str, ...] | None:
    """The key fields that identify items in all of ``lists``, or None if they are unkeyed."""
    items = [item for lst in lists for item in lst]
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for fields in _KEY_CANDIDATES:
        if all(_has_unique(lst, fields) for lst in lists):
            return fields
    return None


def _has_unique(lst: Sequence[dict[str, Any]], fields: tuple[str, ...]) -> bool:
    seen: set[tuple[Scalar, ...]] = set()
    for item in lst:
        values = tuple(item.get(f) for f in fields)
        if any(v is None or isinstance(v, dict | list) for v in values) or values in seen:
            return False
        seen.add(values)
    return True


def item_of(element: dict[str, Any], fields: tuple[str, ...]) -> Item:
    """The ``Item`` segment naming ``element`` of a list keyed by ``fields``."""
    return Item(keys=tuple((f, element[f]) for f in fields))


def find_item(lst: Sequence[Any], item: Item) -> tuple[int, Any] | None:
    """(index, element) of ``item`` in ``lst``, or None if it is not there."""
    if item.index is not None:
        return (item.index, lst[item.index]) if 0 <= item.index < len(lst) else None
    for index, element in enumerate(lst):
        if isinstance(element, dict) and all(
            k in element and same(element[k], v) for k, v in item.keys
        ):
            return index, element
    return None


def same(a: Any, b: Any) -> bool:
    """Equal as JSON values (``True`` is not ``1``)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def format_path(path: Path) -> str:
    """A readable form: ``.spec.containers[name=web].image``, ``.metadata.labels["a/b"]``."""
    out: list[str] = []
    for seg in path:
        if isinstance(seg, Item):
            out.append(_format_item(seg))
        elif _PLAIN_KEY.match(seg):
            out.append(f".{seg}")
        else:
            out.append(f"[{json.dumps(seg)}]")
    return "".join(out) or "."


def _format_item(item: Item) -> str:
    if item.index is not None:
        return f"[{item.index}]"
    parts = []
    for field, value in item.keys:
        text = value if isinstance(value, str) and _PLAIN_VALUE.match(value) else json.dumps(value)
        parts.append(f"{field}={text}")
    return "[" + ",".join(parts) + "]"


_PLAIN_VALUE = re.compile(r"^[A-Za-z0-9_./:-]+$")
