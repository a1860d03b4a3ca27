"""``replacements``: copy a field of one resource into fields of others."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from engine.render.errors import RenderError
from engine.render.patches import select
from engine.render.resources import Resource, ResourceList
from engine.render.transformers import scalar_string

_MISSING = object()


def apply_replacements(resources: ResourceList, replacements: list[Any], where: str, *,
                       step: Callable[[str], None] | None = None) -> None:
    """Apply each replacement in order (``step(where)`` before each: the render's budget)."""
    for number, replacement in enumerate(replacements):
        here = f"{where}: replacements[{number}]"
        if step is not None:
            step(here)
        if not isinstance(replacement, dict) or "source" not in replacement:
            raise RenderError(f"{here}: a replacement needs a source (path: is not supported)")
        value = _source_value(resources, replacement["source"], here)
        for target in replacement.get("targets") or []:
            _apply_target(resources, target, value, here)


def _source_value(resources: ResourceList, source: Any, where: str) -> Any:
    if not isinstance(source, dict):
        raise RenderError(f"{where}: source must be a mapping")
    selector = {k: v for k, v in source.items()
                if k in ("group", "version", "kind", "name", "namespace")}
    found = select(resources, selector, where)
    if len(found) != 1:
        state = "multiple matches" if found else "nothing selected"
        raise RenderError(f"{where}: {state} for source selector {selector}")
    path = scalar_string(source.get("fieldPath")) or "metadata.name"
    value = _get(found[0].obj, split_path(path))
    if value is _MISSING:
        raise RenderError(f"{where}: fieldPath `{path}` is missing for replacement source "
                          f"{found[0].describe()}")
    options = source.get("options") or {}
    if options.get("delimiter"):
        parts = scalar_string(value).split(str(options["delimiter"]))
        index = int(options.get("index") or 0)
        if index < 0 or index >= len(parts):
            raise RenderError(f"{where}: options.index {index} is out of bounds for value "
                              f"{value!r}")
        return parts[index]
    return copy.deepcopy(value)


def _apply_target(resources: ResourceList, target: Any, value: Any, where: str) -> None:
    if not isinstance(target, dict) or not isinstance(target.get("select"), dict):
        raise RenderError(f"{where}: each target needs a select")
    chosen = select(resources, target["select"], where)
    for reject in target.get("reject") or []:
        rejected = {id(r) for r in select(resources, reject, where)}
        chosen = [r for r in chosen if id(r) not in rejected]
    options = target.get("options") or {}
    paths = target.get("fieldPaths") or ["metadata.name"]
    for res in chosen:
        for path in paths:
            _set(res, split_path(str(path)), value, options, where)


def split_path(path: str) -> list[str]:
    """A replacement field path split on dots outside ``[...]``."""
    parts, depth, current = [], 0, ""
    for char in path:
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        if char == "." and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [p[1:-1] if p.startswith("[") and p.endswith("]") and "=" not in p else p
            for p in parts]


def _step(node: Any, segment: str, create: bool) -> Any:
    if isinstance(node, list):
        match = re.fullmatch(r"\[([^=\]]+)=([^\]]*)\]", segment)
        if match:
            key, wanted = match.groups()
            for item in node:
                if isinstance(item, dict) and scalar_string(item.get(key)) == wanted:
                    return item
            return _MISSING
        if segment.isdigit() and int(segment) < len(node):
            return node[int(segment)]
        return _MISSING
    if isinstance(node, dict):
        if segment not in node and create:
            node[segment] = {}
        return node.get(segment, _MISSING)
    return _MISSING


def _get(obj: Any, segments: list[str]) -> Any:
    node = obj
    for segment in segments:
        node = _step(node, segment, create=False)
        if node is _MISSING:
            return _MISSING
    return node


def _set(res: Resource, segments: list[str], value: Any, options: dict[str, Any],
         where: str) -> None:
    create = bool(options.get("create"))
    node: Any = res.obj
    for segment in segments[:-1]:
        node = _step(node, segment, create)
        if node is _MISSING:
            if create:
                raise RenderError(f"{where}: cannot create {'.'.join(segments)} in "
                                  f"{res.describe()}")
            return
    last = segments[-1]
    if isinstance(node, list):
        match = _step(node, last, create=False)
        if match is _MISSING:
            return
        index = node.index(match)
        container: Any = node
        key: Any = index
    elif isinstance(node, dict):
        if last not in node and not create:
            return
        container, key = node, last
    else:
        return
    if options.get("delimiter"):
        current = scalar_string(container.get(key, "") if isinstance(container, dict)
                                else container[key])
        parts = current.split(str(options["delimiter"]))
        index = int(options.get("index") or 0)
        if index >= len(parts):
            parts.append(scalar_string(value))
        elif index < 0:
            parts.insert(0, scalar_string(value))
        else:
            parts[index] = scalar_string(value)
        container[key] = str(options["delimiter"]).join(parts)
    else:
        current = container[key] if isinstance(container, list) else container.get(key)
        if isinstance(current, str) and isinstance(value, (int, float, bool)):
            value = scalar_string(value)  # the target keeps its string type
        container[key] = copy.deepcopy(value)
