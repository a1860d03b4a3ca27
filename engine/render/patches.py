"""``patches``, ``patchesStrategicMerge`` and ``patchesJson6902``: choosing targets
and applying strategic-merge or JSON6902 patches to them."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.render import json6902, merge, metadata, regex
from engine.render.errors import RenderError
from engine.render.loader import parse_documents
from engine.render.resid import Gvk, ResId
from engine.render.resources import Resource, ResourceList
from engine.render.transformers import scalar_string


@dataclass(frozen=True)
class PatchText:
    """The text of one patch and a name for it in messages."""

    text: str
    source: str


def select(resources: ResourceList, target: dict[str, Any], where: str) -> list[Resource]:
    """The resources a ``target`` selector picks (regexes match whole strings)."""
    if not isinstance(target, dict):
        raise RenderError(f"{where}: target must be a mapping")
    known = {"group", "version", "kind", "name", "namespace", "labelSelector",
             "annotationSelector"}
    for key in target:
        if key not in known:
            raise RenderError(f"{where}: unknown field {key!r} in target")
    matchers = {k: _regex(scalar_string(target.get(k)), where)
                for k in ("group", "version", "kind", "name", "namespace")}
    labels = _label_selector(scalar_string(target.get("labelSelector")), where)
    annotations = _label_selector(scalar_string(target.get("annotationSelector")), where)
    picked = []
    for res in resources:
        org, cur = res.org_id, res.cur_id
        if not (matchers["namespace"](org.effective_namespace)
                or matchers["namespace"](cur.effective_namespace)):
            continue
        if not (matchers["name"](org.name) or matchers["name"](cur.name)):
            continue
        gvk = res.gvk
        if not (matchers["group"](gvk.group) and matchers["version"](gvk.version)
                and matchers["kind"](gvk.kind)):
            continue
        if labels(res.labels()) and annotations(res.annotations()):
            picked.append(res)
    return picked


def _regex(pattern: str, where: str) -> Callable[[str], bool]:
    if not pattern:
        return lambda _value: True
    return regex.matcher(f"^(?:{pattern})$", f"{where}: target")


_REQ = re.compile(r"\s*([^\s,!=()]+)\s*(?:(==|=|!=)\s*([^\s,()]*)|\s+(in|notin)\s*\(([^)]*)\))?\s*")


def _label_selector(text: str, where: str) -> Callable[[dict[str, Any]], bool]:
    """A matcher for a Kubernetes label selector string (=, ==, !=, in, notin, exists, !)."""
    if not text.strip():
        return lambda _labels: True
    checks: list[Callable[[dict[str, Any]], bool]] = []
    for part in _split_requirements(text):
        part = part.strip()
        negate = part.startswith("!")
        m = _REQ.fullmatch(part[1:] if negate else part)
        if m is None:
            raise RenderError(f"{where}: invalid selector {text!r}")
        key, op, value, set_op, values = m.groups()
        checks.append(_requirement(key, negate, op, value, set_op, values))
    return lambda labels: all(check(labels) for check in checks)


def _split_requirements(text: str) -> list[str]:
    parts, depth, current = [], 0, ""
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def _requirement(key: str, negate: bool, op: str | None, value: str | None,
                 set_op: str | None, values: str | None) -> Callable[[dict[str, Any]], bool]:
    if negate:
        return lambda labels: key not in labels
    if op in ("=", "=="):
        return lambda labels: key in labels and scalar_string(labels[key]) == value
    if op == "!=":
        return lambda labels: key not in labels or scalar_string(labels[key]) != value
    if set_op:
        options = {v.strip() for v in (values or "").split(",")}
        if set_op == "in":
            return lambda labels: key in labels and scalar_string(labels[key]) in options
        return lambda labels: key not in labels or scalar_string(labels[key]) not in options
    return lambda labels: key in labels


def parse_patch(patch: PatchText, *, string_labels: bool = False
                ) -> tuple[list[dict[str, Any]], list[dict[str, Any]] | None]:
    """(strategic-merge patches, JSON6902 operations or None) read from a patch text.

    Annotation values (and labels, with ``string_labels``) are read as their text. A
    patch with no document is an empty JSON patch, as kustomize reads it.
    """
    fields = ("annotations", "labels") if string_labels else ("annotations",)
    docs = [d.value for d in parse_documents(patch.text, patch.source, string_metadata=fields)]
    if not docs:
        return [], []
    if len(docs) == 1 and isinstance(docs[0], list):
        return [], json6902.validate_ops(docs[0], patch.source)
    for doc in docs:
        if not isinstance(doc, dict):
            raise RenderError(f"{patch.source}: unable to parse SM or JSON patch")
    return docs, None


def apply_patch_entry(resources: ResourceList, patch: PatchText,
                      target: dict[str, Any] | None, options: dict[str, Any], *,
                      strategic_merge_field: bool = False) -> None:
    """Apply one ``patches`` entry (SMP or JSON6902, with or without a target), or with
    ``strategic_merge_field`` one entry of ``patchesStrategicMerge``."""
    smps, ops = parse_patch(patch, string_labels=strategic_merge_field or target is not None)
    if strategic_merge_field:
        if not smps:
            state = "is not a strategic merge patch" if ops else "appears to be empty"
            raise RenderError(f"{patch.source}: patch {state}")
        for smp in smps:
            apply_smp_by_id(resources, smp, patch.source, options, retarget=True)
        return
    if ops is not None:
        if target is None:
            raise RenderError(f"{patch.source}: must specify a target for JSON patch")
        for res in select(resources, target, patch.source):
            res.store_previous_id()
            res.obj = _json_patched(res.obj, ops, f"{patch.source} on {res.describe()}")
        return
    if target is not None:
        if len(smps) > 1:
            raise RenderError(
                f"{patch.source}: multiple strategic-merge patches in one entry may not "
                "set a target")
        for res in select(resources, target, patch.source):
            _apply_smp(resources, res, _retargeted(smps[0], res), options)
        return
    for smp in smps:
        apply_smp_by_id(resources, smp, patch.source, options)


def _json_patched(obj: dict[str, Any], ops: list[dict[str, Any]], where: str
                  ) -> dict[str, Any]:
    """``obj`` after JSON 6902 ``ops`` as kustomize applies them: its objects always hold
    (internal) annotations then, so ``/metadata/annotations/x`` can be added or moved to
    without the map, and the object goes through Go's JSON (integral floats: integers)."""
    meta = obj.get("metadata")
    added = isinstance(meta, dict) and "annotations" not in meta
    if isinstance(meta, dict) and added:
        obj = {**obj, "metadata": {**meta, "annotations": {}}}
    patched = json6902.apply_ops(obj, ops, where)
    meta = patched.get("metadata")
    if added and isinstance(meta, dict) and meta.get("annotations") == {}:
        del meta["annotations"]
    result: dict[str, Any] = metadata.normalise_numbers(patched)
    return result


def _retargeted(smp: dict[str, Any], res: Resource) -> dict[str, Any]:
    """The patch as kustomize applies it to a selected target: with the target's
    apiVersion (a patch written for a Deployment may select a Service by label), and
    without empty label or annotation maps (kustomize drops them from the patch)."""
    copy = dict(smp)
    copy["apiVersion"] = res.obj.get("apiVersion")
    if copy["apiVersion"] is None:
        del copy["apiVersion"]
    meta = copy.get("metadata")
    if isinstance(meta, dict):
        copy["metadata"] = {k: v for k, v in meta.items()
                            if k not in ("labels", "annotations") or v}
    return copy


def apply_smp_by_id(resources: ResourceList, smp: dict[str, Any], source: str,
                    options: dict[str, Any], *, retarget: bool = False) -> None:
    """Apply a strategic-merge patch to the one resource its own id names (``retarget``:
    as ``patchesStrategicMerge`` applies it, like a targeted patch)."""
    meta = smp.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    rid = ResId(Gvk.of(smp), str(meta.get("name") or ""), str(meta.get("namespace") or ""))
    matches = resources.by_any_id(rid)
    if len(matches) != 1:
        state = "no resource matches" if not matches else "multiple resources match"
        raise RenderError(f"{source}: {state} strategic merge patch {rid}")
    target = matches[0]
    _apply_smp(resources, target, _retargeted(smp, target) if retarget else smp, options)


def _apply_smp(resources: ResourceList, res: Resource, smp: dict[str, Any],
               options: dict[str, Any]) -> None:
    allow_name = bool(options.get("allowNameChange"))
    allow_kind = bool(options.get("allowKindChange"))
    name, namespace, kind = res.name, res.namespace, res.gvk.kind
    if allow_name or allow_kind:
        res.store_previous_id()
    merged = merge.apply_patch(res.obj, smp)
    if merged is None or not merged:
        resources.remove(res)
        return
    res.obj = merged
    if not allow_kind:
        res.obj["kind"] = kind
    if not allow_name:
        res.metadata["name"] = name
    if namespace:
        res.metadata["namespace"] = namespace
    else:
        res.metadata.pop("namespace", None)
