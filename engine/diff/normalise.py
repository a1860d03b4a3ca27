"""Normalisation: strip what the server owns or changes by itself before comparing (pure).

Both sides are normalised the same way: server bookkeeping (``managedFields``,
``resourceVersion``, ``uid``, ``generation``, ``creationTimestamp``, ``selfLink``), ``status``,
the client-side-apply annotation and the Deployment revision counter go; a Secret's
``stringData`` is folded into ``data`` as the API server would; empty maps and lists count
as absent, since the API server drops them.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson

_SERVER_METADATA = (
    "managedFields",
    "resourceVersion",
    "uid",
    "generation",
    "creationTimestamp",
    "selfLink",
)
_DROPPED_ANNOTATIONS = (
    "kubectl.kubernetes.io/last-applied-configuration",
    "deployment.kubernetes.io/revision",
)


def normalise(obj: dict[str, Any]) -> dict[str, Any]:
    """A normalised copy of ``obj``, ready to compare; ``obj`` is left as it was.

    Only the maps edited here are copied before ``prune_empty``, which copies every map and
    list anyway: a deep copy first cost as much again (``managedFields`` included) on each
    apply's answer and each watch event the hub fingerprints."""
    out = {key: value for key, value in obj.items() if key != "status"}
    meta = out.get("metadata")
    if isinstance(meta, dict):
        meta = {key: value for key, value in meta.items() if key not in _SERVER_METADATA}
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            meta["annotations"] = {name: value for name, value in annotations.items()
                                   if name not in _DROPPED_ANNOTATIONS}  # fmt: skip
        out["metadata"] = meta
    if is_secret(out):
        fold_string_data(out)
    pruned = prune_empty(out)
    return pruned if isinstance(pruned, dict) else {}


def is_secret(obj: dict[str, Any]) -> bool:
    """Whether ``obj`` is a core v1 Secret."""
    return obj.get("kind") == "Secret" and obj.get("apiVersion") == "v1"


def fold_string_data(secret: dict[str, Any]) -> None:
    """Move ``stringData`` into ``data`` as base64, in place (stringData wins, as on the server)."""
    string_data = secret.pop("stringData", None)
    if not isinstance(string_data, dict) or not string_data:
        return
    data = dict(secret.get("data") or {})
    for key, value in string_data.items():
        data[key] = base64.b64encode(str(value).encode()).decode()
    secret["data"] = data


def prune_empty(value: Any) -> Any:
    """``value`` without ``None``, empty maps and empty lists in its maps: a new map or list
    for each of its maps and lists."""
    if isinstance(value, dict):
        out = {}
        for key, child in value.items():
            pruned = prune_empty(child)
            if pruned is None or pruned == {} or pruned == []:
                continue
            out[key] = pruned
        return out
    if isinstance(value, list):
        return [prune_empty(child) for child in value]
    return value


def fingerprint(obj: dict[str, Any]) -> str:
    """A hash of what users declare: the object as the diff compares it (``normalise``: no
    status, no server bookkeeping, no annotations other managers keep up to date, empty
    maps and lists as absent), so the watches and the diff never disagree on what counts
    as a change."""
    return hashlib.sha256(orjson.dumps(normalise(dict(obj)),
                                       option=orjson.OPT_SORT_KEYS)).hexdigest()
