"""Structural comparison of two normalised objects (pure).

``differences`` lists the paths where live and the target differ: maps key by key, keyed
lists item by item (order does not matter), unkeyed lists of maps index by index when their
lengths agree, anything else as a whole. ``overlay`` builds the target when no dry run was
possible: live with the fields the desired object declares laid over it, so fields the
server defaulted, or other managers set, do not count as drift.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from engine.diff.paths import Item, Path, find_item, item_of, list_keys, same


def differences(live: Any, target: Any, path: Path = ()) -> Iterator[Path]:
    """The paths at which ``live`` and ``target`` differ, outermost first."""
    if isinstance(live, dict) and isinstance(target, dict):
        for key in sorted(set(live) | set(target)):
            if key not in live or key not in target:
                yield (*path, key)
            else:
                yield from differences(live[key], target[key], (*path, key))
    elif isinstance(live, list) and isinstance(target, list):
        yield from _list_differences(live, target, path)
    elif not same(live, target):
        yield path


def _list_differences(live: list[Any], target: list[Any], path: Path) -> Iterator[Path]:
    keys = list_keys(live, target)
    if keys is not None:
        live_items = {item_of(e, keys): e for e in live}
        target_items = {item_of(e, keys): e for e in target}
        ordered = list(target_items) + [i for i in live_items if i not in target_items]
        for item in ordered:
            if item not in live_items or item not in target_items:
                yield (*path, item)
            else:
                yield from differences(live_items[item], target_items[item], (*path, item))
    elif len(live) == len(target) and any(isinstance(e, dict | list) for e in live + target):
        for index, (a, b) in enumerate(zip(live, target, strict=True)):
            yield from differences(a, b, (*path, Item(index=index)))
    elif len(live) != len(target) or not all(map(same, live, target)):
        yield path


def overlay(live: Any, desired: Any) -> Any:
    """``live`` with every field ``desired`` declares set to the desired value."""
    if isinstance(live, dict) and isinstance(desired, dict):
        out = dict(live)
        for key, value in desired.items():
            out[key] = overlay(live[key], value) if key in live else value
        return out
    if isinstance(live, list) and isinstance(desired, list):
        return _overlay_list(live, desired)
    return desired


def _overlay_list(live: list[Any], desired: list[Any]) -> list[Any]:
    keys = list_keys(live, desired)
    if keys is not None:
        wanted = {item_of(e, keys): e for e in desired}
        out = [
            overlay(e, wanted.pop(item_of(e, keys))) if item_of(e, keys) in wanted else e
            for e in live
        ]
        return out + list(wanted.values())
    if len(live) == len(desired):
        return [overlay(a, b) for a, b in zip(live, desired, strict=True)]
    return desired


def get_path(obj: Any, path: Path) -> tuple[bool, Any]:
    """(found, value) at ``path`` in ``obj``."""
    value = obj
    for seg in path:
        if isinstance(seg, Item):
            if not isinstance(value, list) or (found := find_item(value, seg)) is None:
                return False, None
            value = found[1]
        elif isinstance(value, dict) and seg in value:
            value = value[seg]
        else:
            return False, None
    return True, value
