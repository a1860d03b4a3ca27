"""ConfigMap and Secret generators, and kustomize's content hash for their names.

The hash is kustomize's: SHA-256 of a compact JSON object with sorted keys (kind,
an empty name, data and, when present, binaryData or stringData; type for Secrets),
of which the first ten hex digits are kept with 0,1,3,a,e replaced by g,h,k,m,t so
that the suffix never looks like a number or a bad word.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from engine.render.errors import RenderError
from engine.render.resources import Resource
from engine.render.transformers import as_string_map, scalar_string

_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")
_ENCODE = str.maketrans("013ae", "ghkmt")


def content_hash(obj: dict[str, Any]) -> str:
    """The 10-character hash kustomize appends to a generated ConfigMap or Secret."""
    kind = obj.get("kind")
    encoded: dict[str, Any] = {"kind": kind, "name": "", "data": obj.get("data", "")}
    if kind == "ConfigMap":
        if isinstance(obj.get("binaryData"), dict):
            encoded["binaryData"] = obj["binaryData"]
    elif kind == "Secret":
        encoded["type"] = obj.get("type", "")
        if isinstance(obj.get("stringData"), dict):
            encoded["stringData"] = obj["stringData"]
    else:
        encoded = obj
    text = _go_json(encoded)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:10].translate(_ENCODE)


def _go_json(value: Any) -> str:
    """JSON as Go's encoding/json writes it: sorted keys, compact, HTML escaped."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return text


class DataSource:
    """Reads generator inputs (files, env files) relative to a kustomization."""

    def __init__(self, base: Path, read: Any, display: str):
        self.base = base
        self.read = read  # callable(Path) -> bytes, guarded by the loader
        self.display = display


def generate(args: dict[str, Any], kind: str, global_options: dict[str, Any] | None,
             source: DataSource) -> Resource:
    """One ConfigMap or Secret from a generator entry of a kustomization."""
    name = scalar_string(args.get("name"))
    if not name:
        raise RenderError(f"{source.display}: a {kind} generator entry has no name")
    where = f"{source.display}: {kind.lower()}Generator {name!r}"
    data, binary = _collect(args, source, where)
    options = _merge_options(args.get("options"), global_options)
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}}
    namespace = scalar_string(args.get("namespace"))
    if namespace:
        obj["metadata"]["namespace"] = namespace
    if options["labels"]:
        obj["metadata"]["labels"] = options["labels"]
    if options["annotations"]:
        obj["metadata"]["annotations"] = options["annotations"]
    if kind == "Secret":
        obj["type"] = scalar_string(args.get("type")) or "Opaque"
        data = {k: _wrapped_base64(v.encode()) for k, v in data.items()}
        data.update(binary)
    elif binary:
        obj["binaryData"] = binary
    if data:
        obj["data"] = data
    if options["immutable"]:
        obj["immutable"] = True
    behavior = scalar_string(args.get("behavior")) or "create"
    if behavior not in ("create", "merge", "replace"):
        raise RenderError(f"{where}: behavior must be create, merge or replace, not {behavior!r}")
    return Resource(obj, source=source.display, behavior=behavior,
                    needs_hash=not options["disable_hash"])


def _merge_options(local: Any, global_: Any) -> dict[str, Any]:
    local = local if isinstance(local, dict) else {}
    global_ = global_ if isinstance(global_, dict) else {}
    disable = local.get("disableNameSuffixHash")
    if disable is None:
        disable = global_.get("disableNameSuffixHash", False)
    return {
        "labels": {**as_string_map(global_.get("labels"), "generatorOptions.labels"),
                   **as_string_map(local.get("labels"), "options.labels")},
        "annotations": {
            **as_string_map(global_.get("annotations"), "generatorOptions.annotations"),
            **as_string_map(local.get("annotations"), "options.annotations")},
        "disable_hash": bool(disable),
        "immutable": bool(local.get("immutable") or global_.get("immutable")),
    }


def _collect(args: dict[str, Any], source: DataSource,
             where: str) -> tuple[dict[str, str], dict[str, str]]:
    data: dict[str, str] = {}
    binary: dict[str, str] = {}

    def put(key: str, value: str | bytes) -> None:
        if not _KEY.match(key) or len(key) > 253:
            raise RenderError(f"{where}: invalid key name {key!r}")
        if key in data or key in binary:
            raise RenderError(f"{where}: illegally repeats the key `{key}`")
        if isinstance(value, bytes):
            binary[key] = _wrapped_base64(value)
        else:
            data[key] = value

    envs = list(_list(args, "envs", where))
    if args.get("env"):
        envs.append(scalar_string(args["env"]))
    for env in envs:
        for key, value in _env_pairs(source, env, where):
            put(key, value)
    for literal in _list(args, "literals", where):
        key, sep, value = literal.partition("=")
        if not sep:
            raise RenderError(f"{where}: invalid literal {literal!r}, expected key=value")
        put(key, _unquote(value))
    for entry in _list(args, "files", where):
        key, sep, path = entry.partition("=")
        if not sep:
            key, path = Path(entry).name, entry
        elif not key:
            raise RenderError(f"{where}: missing key name in file source {entry!r}")
        raw = source.read(source.base / path)
        try:
            put(key, raw.decode("utf-8"))
        except UnicodeDecodeError:
            put(key, raw)
    return data, binary


def _wrapped_base64(raw: bytes) -> str:
    """Base64 in lines of 70 characters, each ending in a newline when there are several."""
    text = base64.b64encode(raw).decode()
    if len(text) // 70 + 1 == 1:
        return text
    return "".join(text[i:i + 70] + "\n" for i in range(0, len(text), 70))


def _list(args: dict[str, Any], field: str, where: str) -> list[str]:
    value = args.get(field) or []
    if not isinstance(value, list):
        raise RenderError(f"{where}: {field} must be a list")
    return [scalar_string(v) for v in value]


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def _env_pairs(source: DataSource, env: str, where: str) -> list[tuple[str, str]]:
    raw = source.read(source.base / env)
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        raise RenderError(f"{where}: env file {env} is not UTF-8") from err
    pairs = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition("=")
        if not key or any(c.isspace() for c in key):
            # Not the line itself: its value may be a secret (a secretGenerator's env file).
            raise RenderError(f"{where}: {env}:{number}: invalid env line: the key before "
                              "'=' is empty or has spaces")
        pairs.append((key, value))
    return pairs
