"""Strategic merge patch (built-in kinds) and JSON merge patch (everything else).

For built-in Kubernetes kinds, lists with a merge key (containers by ``name``,
volumeMounts by ``mountPath``...) merge element by element, lists of scalars with a
merge strategy (``finalizers``) take the union, and other lists are replaced. The
patch directives ``$patch: replace|delete|merge``, ``$retainKeys`` and
``$deleteFromPrimitiveList/<field>`` are honoured; ``$setElementOrder`` is dropped.
Element order follows kustomize's merge: for single-key lists the patch's elements
first, in patch order, then the target's remaining elements; for lists keyed by
several fields (ports) new elements first, then the target's in their order. Kinds
outside the built-in API groups merge as an RFC 7386 JSON merge patch. A render's custom
OpenAPI schema (``openapi``) decides instead, for the kinds it describes (see ``openapi``).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from engine.render.errors import RenderError
from engine.render.resid import Gvk
from engine.render.resources import copy_tree

BUILTIN_GROUPS = frozenset({
    "", "apps", "batch", "extensions", "policy", "autoscaling", "networking.k8s.io",
    "rbac.authorization.k8s.io", "storage.k8s.io", "scheduling.k8s.io", "node.k8s.io",
    "admissionregistration.k8s.io", "apiextensions.k8s.io", "apiregistration.k8s.io",
    "coordination.k8s.io", "discovery.k8s.io", "certificates.k8s.io", "events.k8s.io",
    "flowcontrol.apiserver.k8s.io", "resource.k8s.io",
})

# field -> merge keys, for lists whose items merge by key in built-in kinds.
_MERGE_KEYS: dict[str, tuple[str, ...]] = {
    "containers": ("name",), "initContainers": ("name",), "ephemeralContainers": ("name",),
    "env": ("name",), "volumes": ("name",), "imagePullSecrets": ("name",),
    "volumeMounts": ("mountPath",), "volumeDevices": ("devicePath",), "hostAliases": ("ip",),
    "readinessGates": ("conditionType",), "resourceClaims": ("name",),
    "schedulingGates": ("name",), "resizePolicy": ("resourceName",),
    "topologySpreadConstraints": ("topologyKey", "whenUnsatisfiable"),
    "conditions": ("type",), "ownerReferences": ("uid",), "webhooks": ("name",),
    "secrets": ("name",),
}
_PRIMITIVE_MERGE = frozenset({"finalizers"})

# The render's custom OpenAPI schema (an ``openapi.Selection``, from the kustomization field
# ``openapi``); None: kustomize's built-in schema, which the tables above follow.
CUSTOM_SCHEMA: ContextVar[Any] = ContextVar("custom_schema", default=None)
_KIND_SCHEMA: ContextVar[Any] = ContextVar("kind_schema", default=None)  # of the target

DELETE = object()


def is_builtin(gvk: Gvk) -> bool:
    """Whether strategic merge (rather than JSON merge) applies to this kind."""
    return gvk.group in BUILTIN_GROUPS


def apply_patch(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any] | None:
    """``target`` merged with ``patch``; None when the patch deletes the object."""
    if patch.get("$patch") == "delete":
        return None
    patch = copy_tree(patch)
    gvk, custom = Gvk.of(target), CUSTOM_SCHEMA.get()
    kind = custom.schema.kind(gvk) if custom is not None else None
    if kind is not None:
        token = _KIND_SCHEMA.set(kind)
        try:
            merged = merge_map(copy_tree(target), patch, path=())
        finally:
            _KIND_SCHEMA.reset(token)
    elif is_builtin(gvk) and (custom is None or custom.keeps_built_in):
        merged = merge_map(copy_tree(target), patch, path=())
    else:
        merged = json_merge(copy_tree(target), patch)
    return merged if isinstance(merged, dict) else None


def json_merge(target: Any, patch: Any) -> Any:
    """RFC 7386: maps merge recursively, null deletes, anything else replaces."""
    if not isinstance(patch, dict):
        return patch
    if patch.get("$patch") == "replace":
        return {k: v for k, v in patch.items() if k != "$patch"}
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key == "$patch":
            continue
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge(result.get(key), value)
    return result


def merge_map(target: dict[str, Any], patch: dict[str, Any], path: tuple[str, ...]) -> Any:
    """Strategic merge of two mappings; DELETE when the patch says ``$patch: delete``."""
    directive = patch.pop("$patch", None)
    if directive == "delete":
        return DELETE
    if directive == "replace":
        return _strip_directives(patch)
    if directive not in (None, "merge"):
        raise RenderError(f"{'.'.join(path) or 'patch'}: unknown $patch directive {directive!r}")
    retain = patch.pop("$retainKeys", None)
    result = dict(target)
    for key in list(patch):
        if key.startswith("$setElementOrder/"):
            patch.pop(key)
        elif key.startswith("$deleteFromPrimitiveList/"):
            field, doomed = key.split("/", 1)[1], patch.pop(key) or []
            if isinstance(result.get(field), list):
                result[field] = [v for v in result[field] if v not in doomed]
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
            continue
        merged = merge_value(result.get(key), value, (*path, key))
        if merged is DELETE:
            result.pop(key, None)
        else:
            result[key] = merged
    if isinstance(retain, list):
        result = {k: v for k, v in result.items() if k in retain}
    return result


def merge_value(target: Any, patch: Any, path: tuple[str, ...]) -> Any:
    """Merge one field's value by its type and, for lists, its merge strategy."""
    if isinstance(patch, dict):
        if isinstance(target, dict):
            return merge_map(target, patch, path)
        return merge_map({}, patch, path)
    if isinstance(patch, list) and isinstance(target, list):
        return merge_list(target, patch, path)
    if isinstance(patch, list):
        return [_strip_directives(v) for v in patch if not _is_directive_item(v)]
    return patch


def merge_list(target: list[Any], patch: list[Any], path: tuple[str, ...]) -> list[Any]:
    """Merge two lists by the strategy of the field at ``path``."""
    if any(isinstance(v, dict) and v.get("$patch") == "replace" and len(v) == 1 for v in patch):
        return [_strip_directives(v) for v in patch if not _is_directive_item(v)]
    kind = _KIND_SCHEMA.get()
    if kind is not None:
        return _merge_by_schema(target, patch, path, kind.list_strategy(path))
    field = path[-1] if path else ""
    keys = _MERGE_KEYS.get(field)
    if field == "ports":
        keys = ("containerPort", "protocol") if _in_container(path) else ("port", "protocol")
    if field in _PRIMITIVE_MERGE:
        return _merge_primitives(target, patch)
    return _merge_with_keys(target, patch, keys, path)


def _merge_by_schema(target: list[Any], patch: list[Any], path: tuple[str, ...],
                     strategy: Any) -> list[Any]:
    """Merge two lists as a custom schema says (``openapi.ListStrategy``; None: replace)."""
    keys = strategy.keys if strategy is not None else None
    if keys == ():
        return _merge_primitives(target, patch)
    return _merge_with_keys(target, patch, keys, path)


def _merge_with_keys(target: list[Any], patch: list[Any], keys: tuple[str, ...] | None,
                     path: tuple[str, ...]) -> list[Any]:
    """Merge lists of mappings by ``keys``; without keys (or mappings) the patch replaces."""
    if keys is None or not all(isinstance(v, dict) for v in [*target, *patch]):
        return [_strip_directives(v) for v in patch if not _is_directive_item(v)]
    if len(keys) > 1:
        return _merge_by_keys_in_place(target, patch, keys, path)
    return _merge_by_key(target, patch, keys[0], path)


def _in_container(path: tuple[str, ...]) -> bool:
    return any(p in ("containers", "initContainers", "ephemeralContainers") for p in path)


def _merge_primitives(target: list[Any], patch: list[Any]) -> list[Any]:
    result: list[Any] = []
    for value in [*patch, *target]:
        if value not in result:
            result.append(value)
    return result


def _merge_by_key(target: list[Any], patch: list[Any], key: str,
                  path: tuple[str, ...]) -> list[Any]:
    remaining = list(target)
    result: list[Any] = []
    for item in patch:
        match = next((t for t in remaining if t.get(key) == item.get(key)), None)
        if match is not None:
            remaining.remove(match)
        merged = merge_map(match if match is not None else {}, dict(item), path)
        if merged is not DELETE:
            result.append(merged)
    return result + remaining


def _merge_by_keys_in_place(target: list[Any], patch: list[Any], keys: tuple[str, ...],
                            path: tuple[str, ...]) -> list[Any]:
    result: list[Any] = list(target)
    added: list[Any] = []
    primary = keys[0]
    for item in patch:
        index = next((i for i, t in enumerate(result) if _same_keys(t, item, keys, primary)),
                     None)
        merged = merge_map(result[index] if index is not None else {}, dict(item), path)
        if index is None:
            if merged is not DELETE:
                added.append(merged)
        elif merged is DELETE:
            del result[index]
        else:
            result[index] = merged
    return added + result


def _same_keys(a: dict[str, Any], b: dict[str, Any], keys: tuple[str, ...], primary: str) -> bool:
    if a.get(primary) != b.get(primary):
        return False
    return all(a.get(k) == b.get(k) for k in keys[1:] if a.get(k) and b.get(k))


def _is_directive_item(value: Any) -> bool:
    return isinstance(value, dict) and value.get("$patch") in ("replace", "delete") \
        and len(value) == 1


def _strip_directives(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_directives(v) for k, v in value.items()
                if not k.startswith("$") and v is not None}
    if isinstance(value, list):
        return [_strip_directives(v) for v in value if not _is_directive_item(v)]
    return value
