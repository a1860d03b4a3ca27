"""RFC 6902 JSON patch over plain objects (add, remove, replace, move, copy, test)."""

from __future__ import annotations

from typing import Any

from engine.render.errors import RenderError
from engine.render.resources import copy_tree

_OPS = frozenset({"add", "remove", "replace", "move", "copy", "test"})


def validate_ops(ops: Any, source: str) -> list[dict[str, Any]]:
    """``ops`` checked to be a list of JSON patch operations."""
    if not isinstance(ops, list) or not ops:
        raise RenderError(f"{source}: a JSON patch must be a non-empty list of operations")
    for op in ops:
        if not isinstance(op, dict) or op.get("op") not in _OPS or "path" not in op:
            raise RenderError(f"{source}: invalid JSON patch operation {op!r}")
    return ops


def apply_ops(doc: dict[str, Any], ops: list[dict[str, Any]], where: str) -> dict[str, Any]:
    """``doc`` after every operation; a RenderError naming ``where`` and the op."""
    result: Any = copy_tree(doc)
    for op in ops:
        try:
            result = _apply_one(result, op)
        except (KeyError, IndexError, ValueError, TypeError) as err:
            raise RenderError(
                f"{where}: JSON patch {op.get('op')} {op.get('path')!r} failed: {err}"
            ) from err
    if not isinstance(result, dict):
        raise RenderError(f"{where}: JSON patch replaced the whole object with a non-object")
    return result


def _pointer(path: Any) -> list[str]:
    if not isinstance(path, str) or (path and not path.startswith("/")):
        raise ValueError(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def _parent(doc: Any, tokens: list[str]) -> Any:
    node = doc
    for token in tokens[:-1]:
        node = node[_index(node, token, existing=True)] if isinstance(node, list) else node[token]
    return node


def _index(node: list[Any], token: str, *, existing: bool) -> int:
    if token == "-" and not existing:
        return len(node)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise ValueError(f"invalid array index {token!r}")
    index = int(token)
    limit = len(node) if existing else len(node) + 1
    if index >= limit:
        raise IndexError(f"index {index} out of range")
    return index


def _get(doc: Any, path: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return doc
    parent = _parent(doc, tokens)
    if isinstance(parent, list):
        return parent[_index(parent, tokens[-1], existing=True)]
    if not isinstance(parent, dict) or tokens[-1] not in parent:
        raise KeyError(f"no value at {path}")
    return parent[tokens[-1]]


def _add(doc: Any, path: Any, value: Any) -> Any:
    tokens = _pointer(path)
    if not tokens:
        return value
    parent = _parent(doc, tokens)
    if isinstance(parent, list):
        parent.insert(_index(parent, tokens[-1], existing=False), value)
    elif isinstance(parent, dict):
        parent[tokens[-1]] = value
    else:
        raise TypeError(f"cannot add below a scalar at {path}")
    return doc


def _remove(doc: Any, path: Any) -> Any:
    tokens = _pointer(path)
    parent = _parent(doc, tokens)
    if isinstance(parent, list):
        del parent[_index(parent, tokens[-1], existing=True)]
    elif isinstance(parent, dict) and tokens[-1] in parent:
        del parent[tokens[-1]]
    else:
        raise KeyError(f"no value at {path}")
    return doc


def _apply_one(doc: Any, op: dict[str, Any]) -> Any:
    kind, path = op["op"], op["path"]
    if kind == "add":
        return _add(doc, path, copy_tree(op.get("value")))
    if kind == "remove":
        return _remove(doc, path)
    if kind == "replace":
        _get(doc, path)
        tokens = _pointer(path)
        if not tokens:
            return copy_tree(op.get("value"))
        parent = _parent(doc, tokens)
        key = _index(parent, tokens[-1], existing=True) if isinstance(parent, list) \
            else tokens[-1]
        parent[key] = copy_tree(op.get("value"))
        return doc
    if kind == "move":
        value = _get(doc, op["from"])
        return _add(_remove(doc, op["from"]), path, value)
    if kind == "copy":
        return _add(doc, path, copy_tree(_get(doc, op["from"])))
    if _get(doc, path) != op.get("value"):
        raise ValueError("test failed")
    return doc
