"""Argo CD's ``ignoreDifferences``: fields left out of the comparison (pure).

A rule selects objects by group, kind (``*`` globs allowed), name and namespace (``""``:
any). ``jsonPointers`` (RFC 6901) are removed from both sides before comparing;
``managedFieldsManagers`` removes, from both sides, every field those managers own in the
live object (so an HPA may own ``.spec.replicas``). ``jqPathExpressions`` are accepted but
not evaluated; ``unsupported`` says so, for the app's conditions.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.diff import fieldsv1
from engine.diff.attribution import entries
from engine.errors import ConfigError
from engine.model import ResourceKey


@dataclass(frozen=True)
class IgnoreRule:
    """One ``ignoreDifferences`` entry."""

    group: str = ""
    kind: str = ""
    name: str = ""
    namespace: str = ""
    json_pointers: tuple[str, ...] = ()
    jq_path_expressions: tuple[str, ...] = ()
    managed_fields_managers: tuple[str, ...] = ()

    @classmethod
    def from_argo(cls, entry: dict[str, Any]) -> IgnoreRule:
        """Parse one entry of an Argo CD Application's ``spec.ignoreDifferences``."""
        if not isinstance(entry, dict):
            raise ConfigError(f"ignoreDifferences entry must be a mapping, not {entry!r}")
        return cls(
            group=_text(entry, "group"),
            kind=_text(entry, "kind"),
            name=_text(entry, "name"),
            namespace=_text(entry, "namespace"),
            json_pointers=_texts(entry, "jsonPointers"),
            jq_path_expressions=_texts(entry, "jqPathExpressions"),
            managed_fields_managers=_texts(entry, "managedFieldsManagers"),
        )

    def applies_to(self, key: ResourceKey) -> bool:
        """Whether this rule selects the object ``key``."""
        return (
            _glob(self.group, key.group)
            and (not self.kind or _glob(self.kind, key.kind))
            and (not self.name or self.name == key.name)
            and (not self.namespace or self.namespace == key.namespace)
        )


def unsupported(rules: Sequence[IgnoreRule]) -> list[str]:
    """Messages for the parts of ``rules`` that fleetsync does not evaluate."""
    return [
        f"ignoreDifferences for {r.group}/{r.kind}: jqPathExpressions {list(r.jq_path_expressions)}"
        " are not supported and were not applied"
        for r in rules
        if r.jq_path_expressions
    ]


def apply_ignores(
    key: ResourceKey,
    rules: Sequence[IgnoreRule],
    raw_live: dict[str, Any] | None,
    *sides: Any,
) -> None:
    """Remove, in place from every one of ``sides``, the fields the rules for ``key`` ignore."""
    selected = [r for r in rules if r.applies_to(key)]
    managers = {m for r in selected for m in r.managed_fields_managers}
    owned = [e.fields for e in entries(raw_live or {}) if e.manager in managers]
    for side in sides:
        if side is None:
            continue
        for rule in selected:
            for pointer in rule.json_pointers:
                remove_pointer(side, pointer)
        for fields in owned:
            remove_owned(side, fields)


def remove_pointer(obj: Any, pointer: str) -> None:
    """Delete the value at JSON pointer ``pointer`` in ``obj`` if it is there."""
    if not pointer.startswith("/"):
        return
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]
    parent = obj
    for token in tokens[:-1]:
        parent = _child(parent, token)
        if parent is None:
            return
    last = tokens[-1]
    if isinstance(parent, dict):
        parent.pop(last, None)
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        del parent[int(last)]


def remove_owned(value: Any, node: fieldsv1.FieldNode) -> None:
    """Delete, in place, the fields of ``value`` that the field set ``node`` owns."""
    for step, child in node.children.items():
        kind, text = step
        if kind == "f" and isinstance(value, dict) and text in value:
            if child.children:
                remove_owned(value[text], child)
            if not child.children or value[text] in ({}, []):
                del value[text]
        elif kind != "f" and isinstance(value, list):
            for index in reversed(fieldsv1.step_item(step, value)):
                if child.children:
                    remove_owned(value[index], child)
                if not child.children or value[index] == {}:
                    del value[index]


def _child(value: Any, token: str) -> Any:
    if isinstance(value, dict):
        return value.get(token)
    if isinstance(value, list) and token.isdigit() and int(token) < len(value):
        return value[int(token)]
    return None


def _glob(pattern: str, value: str) -> bool:
    return pattern == value or ("*" in pattern and fnmatch.fnmatchcase(value, pattern))


def _text(entry: dict[str, Any], field: str) -> str:
    value = entry.get(field) or ""
    if not isinstance(value, str):
        raise ConfigError(f"ignoreDifferences.{field} must be a string, not {value!r}")
    return value


def _texts(entry: dict[str, Any], field: str) -> tuple[str, ...]:
    value = entry.get(field) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"ignoreDifferences.{field} must be a list of strings, not {value!r}")
    return tuple(value)
