"""Kubernetes label selectors over registered clusters' labels (pure).

``matchLabels`` and ``matchExpressions`` (``In``, ``NotIn``, ``Exists``, ``DoesNotExist``)
are ANDed, as in Kubernetes; an empty selector matches every cluster. A cluster list
(``[edge-1, edge-2]``) is the other way to name clusters in ``spec.overrides``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.apps.fields import Fields

_OPERATORS = {"In", "NotIn", "Exists", "DoesNotExist"}


@dataclass(frozen=True)
class Requirement:
    """One ``matchExpressions`` entry."""

    key: str
    operator: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy this requirement."""
        if self.operator == "Exists":
            return self.key in labels
        if self.operator == "DoesNotExist":
            return self.key not in labels
        if self.operator == "In":
            return labels.get(self.key) in self.values
        return labels.get(self.key) not in self.values


@dataclass(frozen=True)
class LabelSelector:
    """A label selector; ``requirements`` include ``matchLabels`` as ``In`` of one value."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a cluster with ``labels`` is selected."""
        return all(r.matches(labels) for r in self.requirements)


@dataclass(frozen=True)
class ClusterNames:
    """An explicit list of cluster names."""

    names: tuple[str, ...]

    def matches_cluster(self, name: str) -> bool:
        """Whether the cluster called ``name`` is listed."""
        return name in self.names


def parse_selector(raw: Any, fields: Fields, path: str) -> LabelSelector:
    """Validate a label selector mapping at ``path``."""
    if not isinstance(raw, dict):
        fields_error = "must be a label selector (matchLabels / matchExpressions)"
        raise fields.error(path, fields_error)
    unknown = set(raw) - {"matchLabels", "matchExpressions"}
    if unknown:
        raise fields.error(f"{path}.{sorted(unknown)[0]}", "is not a label selector field")
    requirements = [
        Requirement(str(key), "In", (_label_value(value, fields, f"{path}.matchLabels.{key}"),))
        for key, value in fields.mapping(raw, "matchLabels", path).items()
    ]
    for index, expr in enumerate(fields.items(raw, "matchExpressions", path)):
        requirements.append(_requirement(expr, fields, f"{path}.matchExpressions[{index}]"))
    return LabelSelector(tuple(requirements))


def _label_value(value: Any, fields: Fields, path: str) -> str:
    if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
        raise fields.error(path, 'must be a string (quote values like "true")')
    return str(value)


def _requirement(raw: Any, fields: Fields, path: str) -> Requirement:
    if not isinstance(raw, dict):
        raise fields.error(path, "must be a mapping with key, operator and values")
    key = fields.required(raw, "key", path)
    operator = fields.required(raw, "operator", path)
    if operator not in _OPERATORS:
        raise fields.error(f"{path}.operator", f"must be one of {', '.join(sorted(_OPERATORS))}")
    values = fields.strings(raw, "values", path)
    if operator in {"In", "NotIn"} and not values:
        raise fields.error(f"{path}.values", f"must not be empty for {operator}")
    if operator in {"Exists", "DoesNotExist"} and values:
        raise fields.error(f"{path}.values", f"must be empty for {operator}")
    return Requirement(key, operator, values)


def parse_clusters(raw: Any, fields: Fields, path: str) -> LabelSelector | ClusterNames:
    """An override's ``clusters``: a label selector or a list of cluster names."""
    if isinstance(raw, list):
        if not raw or not all(isinstance(n, str) and n for n in raw):
            raise fields.error(path, "must be a non-empty list of cluster names")
        return ClusterNames(tuple(raw))
    return parse_selector(raw, fields, path)
