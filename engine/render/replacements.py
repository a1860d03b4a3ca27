"""``replacements``: copy a field of one resource (or a literal) into fields of others.

As kustomize's ReplacementTransformer: an entry is inline (``source`` or ``sourceValue``
plus ``targets``) or ``path:``, a file in the kustomization's directory holding one
replacement or a list of them. Resources are selected by exact group/version/kind/name/
namespace against their current *and previous* ids; targets also by label and
annotation selectors, minus ``reject``. A target field must exist unless
``options.create``; its paths may use ``*`` for every list item and ``[k=v]`` (see
``paths``). A scalar target keeps its type and takes the value's text, a created field
takes the type the text reads as, a mapping or list target is replaced by a copy.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from engine.render import paths
from engine.render.errors import RenderError
from engine.render.patches import select
from engine.render.resid import Gvk, ResId
from engine.render.resources import Resource, ResourceList, copy_tree
from engine.render.transformers import scalar_string

_ID_KEYS = ("group", "version", "kind", "name", "namespace")
_SOURCE_KEYS = frozenset({*_ID_KEYS, "fieldPath", "options"})
_SELECT_KEYS = frozenset({*_ID_KEYS, "labelSelector", "annotationSelector"})
_TARGET_KEYS = frozenset({"select", "reject", "fieldPaths", "options"})
_OPTION_KEYS = frozenset({"delimiter", "index", "encoding", "create"})
_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")


def expand_entries(entries: list[Any], where: str,
                   load: Callable[[str], list[Any]]) -> list[tuple[str, dict[str, Any]]]:
    """(where, replacement) for every entry, ``path:`` entries read with ``load(path)``."""
    result = []
    for number, entry in enumerate(entries):
        here = f"{where}: replacements[{number}]"
        if not isinstance(entry, dict):
            raise RenderError(f"{here}: a replacement must be a mapping")
        path = entry.get("path")
        if path is None:
            result.append((here, entry))
            continue
        if entry.get("source") is not None or entry.get("targets"):
            raise RenderError(f"{here}: cannot specify both path and inline replacement")
        for index, item in enumerate(load(scalar_string(path))):
            if not isinstance(item, dict):
                raise RenderError(f"{here}: {path}: a replacement must be a mapping")
            result.append((f"{here} ({path}, item {index})", item))
    return result


def loaded_replacements(value: Any, source: str) -> list[Any]:
    """The replacements of a ``path:`` file: one replacement, or a list of them."""
    if isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value]
    raise RenderError(f"{source}: unsupported replacement type encountered within "
                      "replacement path")


def apply_replacements(resources: ResourceList, replacements: list[tuple[str, dict[str, Any]]],
                       *, step: Callable[[str], None] | None = None) -> None:
    """Apply each (where, replacement) in order (``step(where)`` before each replacement
    and each of its targets: the render's budget)."""
    for here, replacement in replacements:
        if step is not None:
            step(here)
        _check_keys(replacement, {"source", "sourceValue", "targets", "path"}, here)
        source, literal = replacement.get("source"), replacement.get("sourceValue")
        if (source is None and literal is None) or replacement.get("targets") is None:
            raise RenderError(f"{here}: replacements must specify a source and at least "
                              "one target")
        if source is not None and literal is not None:
            raise RenderError(f"{here}: value and resource selectors are mutually exclusive")
        value = scalar_string(literal) if source is None else _source_value(
            resources, source, here)
        targets = replacement["targets"]
        if not isinstance(targets, list):
            raise RenderError(f"{here}: targets must be a list")
        for target in targets:
            if step is not None:
                step(here)
            _apply_target(resources, target, value, here)


def _check_keys(value: Any, known: frozenset[str] | set[str], where: str) -> None:
    if not isinstance(value, dict):
        raise RenderError(f"{where}: must be a mapping")
    for key in value:
        if key not in known:
            raise RenderError(f"{where}: unknown field {key!r}")


def _id_selector(selector: dict[str, Any]) -> ResId:
    return ResId(Gvk(*(scalar_string(selector.get(k)) for k in ("group", "version", "kind"))),
                 scalar_string(selector.get("name")), scalar_string(selector.get("namespace")))


def _selected_by(rid: ResId, selector: ResId) -> bool:
    """kustomize's IsSelectedBy: every field the selector sets is equal."""
    return ((not selector.name or selector.name == rid.name)
            and (not selector.namespace
                 or selector.effective_namespace == rid.effective_namespace)
            and rid.gvk.selected_by(selector.gvk))


def _has_id(res: Resource, selector: ResId) -> bool:
    return any(_selected_by(rid, selector) for rid in res.all_ids())


def _source_value(resources: ResourceList, source: Any, where: str) -> Any:
    _check_keys(source, _SOURCE_KEYS, f"{where}: source")
    selector = _id_selector(source)
    found = [r for r in resources if _has_id(r, selector)]
    if len(found) != 1:
        state = "multiple matches" if found else "nothing selected"
        raise RenderError(f"{where}: {state} for source selector {_describe(source)}")
    path = scalar_string(source.get("fieldPath")) or paths.DEFAULT_FIELD_PATH
    value = paths.lookup(found[0].obj, path)
    if value is paths.MISSING:
        raise RenderError(f"{where}: fieldPath `{path}` is missing for replacement source "
                          f"{found[0].describe()}")
    options = _options(source.get("options"), f"{where}: source")
    if options.get("delimiter"):
        if isinstance(value, dict | list):
            raise RenderError(f"{where}: delimiter option can only be used with scalar nodes")
        parts = scalar_string(value).split(scalar_string(options["delimiter"]))
        index = _index(options, where)
        if index < 0 or index >= len(parts):
            raise RenderError(f"{where}: options.index {index} is out of bounds for value "
                              f"{scalar_string(value)}")
        return parts[index]
    return copy_tree(value)


def _describe(selector: dict[str, Any]) -> str:
    return ", ".join(f"{k}={scalar_string(selector[k])}" for k in _ID_KEYS if selector.get(k))


def _options(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    _check_keys(value, _OPTION_KEYS, f"{where}: options")
    return dict(value)


def _index(options: dict[str, Any], where: str) -> int:
    index = options.get("index") or 0
    if isinstance(index, bool) or not isinstance(index, int):
        raise RenderError(f"{where}: options.index must be an integer")
    return index


def _apply_target(resources: ResourceList, target: Any, value: Any, where: str) -> None:
    _check_keys(target, _TARGET_KEYS, f"{where}: target")
    if not isinstance(target.get("select"), dict):
        raise RenderError(f"{where}: target must specify resources to select")
    rejects = target.get("reject") or []
    for selector in [target["select"], *rejects]:
        _check_keys(selector, _SELECT_KEYS, f"{where}: target selector")
    options = _options(target.get("options"), f"{where}: target")
    field_paths = [scalar_string(p) for p in target.get("fieldPaths") or []]
    for res in _targets(resources, target["select"], rejects, where):
        for path in field_paths or [paths.DEFAULT_FIELD_PATH]:
            _write(res, path, value, options, where)


def _targets(resources: ResourceList, chosen: dict[str, Any], rejects: list[dict[str, Any]],
             where: str) -> list[Resource]:
    by_labels = {id(r) for r in select(resources, _label_part(chosen), where)}
    rejected_ids = [_id_selector(r) for r in rejects if any(r.get(k) for k in _ID_KEYS)]
    rejected_labels: set[int] = set()
    for reject in rejects:
        if reject.get("labelSelector") or reject.get("annotationSelector"):
            rejected_labels |= {id(r) for r in select(resources, _label_part(reject), where)}
    wanted = _id_selector(chosen)
    return [r for r in resources
            if id(r) in by_labels and id(r) not in rejected_labels and _has_id(r, wanted)
            and not any(_has_id(r, rid) for rid in rejected_ids)]


def _label_part(selector: dict[str, Any]) -> dict[str, Any]:
    return {k: selector[k] for k in ("labelSelector", "annotationSelector") if selector.get(k)}


def _write(res: Resource, path: str, value: Any, options: dict[str, Any], where: str) -> None:
    create = bool(options.get("create"))

    def new_leaf() -> Any:
        return "" if not isinstance(value, dict | list) else {}

    try:
        places = paths.Matcher(path, create=new_leaf if create else None).places(res.obj)
    except RenderError as err:
        raise RenderError(f"{where}: unable to find field {path!r} in replacement target "
                          f"{res.describe()}: {err}") from err
    if not places:
        verb = "find or create" if create else "find"
        raise RenderError(f"{where}: unable to {verb} field {path!r} in replacement target "
                          f"{res.describe()}")
    for place in places:
        place.set(_new_value(place.value, value, options, place.created, where))


def _new_value(current: Any, value: Any, options: dict[str, Any], created: bool,
               where: str) -> Any:
    if options.get("delimiter"):
        if isinstance(current, dict | list):
            raise RenderError(f"{where}: delimiter option can only be used with scalar nodes")
        delimiter = scalar_string(options["delimiter"])
        parts = scalar_string(current).split(delimiter)
        index, text = _index(options, where), _text(value)
        if index < 0:
            parts.insert(0, text)
        elif index >= len(parts):
            parts.append(text)
        else:
            parts[index] = text
        value = delimiter.join(parts)
    if isinstance(current, dict | list) or (current is None and isinstance(value, dict | list)):
        return copy_tree(value)
    text = _text(value)
    if isinstance(current, str) and not created:
        return text
    return _implicit(text)


def _text(value: Any) -> str:
    """A value's scalar text (a mapping or list has none)."""
    return "" if isinstance(value, dict | list) else scalar_string(value)


def _implicit(text: str) -> Any:
    """``text`` as an untagged YAML 1.2 scalar reads (``8080`` is a number)."""
    if text in ("true", "True", "TRUE", "false", "False", "FALSE"):
        return text.lower() == "true"
    if text in ("", "~", "null", "Null", "NULL"):
        return None if text else ""
    if _INT.fullmatch(text):
        return int(text, 8 if text.startswith("0o") else 0) if text[:2] in ("0o", "0x") \
            else int(text, 10)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text
