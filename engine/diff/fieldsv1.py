"""The fieldsV1 format of ``metadata.managedFields`` parsed into a trie (pure).

fieldsV1 is structured-merge-diff's serialised field set: a JSON tree whose keys are
``f:<field>`` (a map field), ``k:<json object>`` (a list item named by its key fields),
``v:<json value>`` (an item of a set-like list), ``i:<n>`` (an item by position), and ``.``
(the node itself is owned, not only some of its children). A leaf ``{}`` is owned too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from engine.diff.paths import Item, Path, Segment, find_item, same

# ("f", name) | ("k", json text) | ("v", json text) | ("i", "n")
Step = tuple[str, str]


@dataclass
class FieldNode:
    """One node of a manager's field set: whether it is owned, and its children."""

    owned: bool = False
    children: dict[Step, FieldNode] = field(default_factory=dict)


def parse(fields: dict[str, Any] | None) -> FieldNode:
    """The trie of one ``fieldsV1`` value; unknown keys are skipped."""
    node = FieldNode(owned=not fields)
    for raw, child in (fields or {}).items():
        if raw == ".":
            node.owned = True
            continue
        prefix, sep, rest = raw.partition(":")
        if sep and prefix in ("f", "k", "v", "i"):
            node.children[(prefix, rest)] = parse(child if isinstance(child, dict) else None)
    return node


def owned_paths(node: FieldNode, prefix: tuple[Step, ...] = ()) -> list[tuple[Step, ...]]:
    """Every owned path of the trie, as raw steps (for inspection and tests)."""
    found = [prefix] if node.owned and prefix else []
    for step, child in node.children.items():
        found.extend(owned_paths(child, (*prefix, step)))
    return found


def matches(step: Step, segment: Segment, value: Any, index: int | None) -> bool:
    """Whether ``step`` names ``segment``; ``value``/``index`` is the list element it denotes."""
    kind, text = step
    if isinstance(segment, str):
        return kind == "f" and text == segment
    if kind == "i":
        return index is not None and text == str(index)
    decoded = _json(text)
    if kind == "v":
        return decoded is not _BAD and same(decoded, value)
    if kind == "k" and isinstance(decoded, dict) and isinstance(value, dict):
        return all(k in value and same(value[k], v) for k, v in decoded.items())
    return False


def step_item(step: Step, lst: list[Any]) -> list[int]:
    """Indices of the elements of ``lst`` that a list-item ``step`` names."""
    return [i for i, e in enumerate(lst) if matches(step, Item(index=i), e, i)]


_BAD = object()


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return _BAD


def depth_owned(node: FieldNode, path: Path, live: Any) -> int:
    """The length of the longest prefix of ``path`` owned in ``node`` (0: none)."""
    best, value = 0, live
    for depth, seg in enumerate(path, start=1):
        index = None
        if isinstance(seg, Item):
            found = find_item(value, seg) if isinstance(value, list) else None
            if found is None:
                break
            index, value = found
        else:
            value = value.get(seg) if isinstance(value, dict) else None
        child = next((c for s, c in node.children.items() if matches(s, seg, value, index)), None)
        if child is None:
            break
        node = child
        if node.owned:
            best = depth
    return best
