"""kustomize's output order: ``sortOptions`` of the top kustomization, legacy by default.

Legacy order: by kind priority (``orderFirst`` kinds first, ``orderLast`` kinds last, in
the order given; kustomize's own lists by default), then by group_version_kind, then by
"kind.version.group|namespace|name". Among Namespaces, a gvk with no group compares the
other way round (kustomize's quirk, kept so the output is the same).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.render.errors import RenderError
from engine.render.resid import Gvk, ResId
from engine.render.resources import Resource

ORDER_FIRST = (
    "Namespace", "ResourceQuota", "StorageClass", "CustomResourceDefinition",
    "ServiceAccount", "PodSecurityPolicy", "Role", "ClusterRole", "RoleBinding",
    "ClusterRoleBinding", "ConfigMap", "Secret", "Endpoints", "Service", "LimitRange",
    "PriorityClass", "PersistentVolume", "PersistentVolumeClaim", "Deployment",
    "StatefulSet", "CronJob", "PodDisruptionBudget",
)
ORDER_LAST = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")


@dataclass(frozen=True)
class SortOptions:
    """``sortOptions`` of a kustomization: fifo, or legacy with its kind lists."""

    fifo: bool = False
    order_first: tuple[str, ...] = ORDER_FIRST
    order_last: tuple[str, ...] = ORDER_LAST


def sort_options(value: Any, display: str) -> SortOptions:
    """The ``sortOptions`` field checked as kustomize checks it (None: legacy defaults)."""
    if value is None:
        return SortOptions()
    _check_mapping(value, "sortOptions", {"order", "legacySortOptions"}, display)
    order, legacy = value.get("order"), value.get("legacySortOptions")
    if order not in ("fifo", "legacy"):
        raise RenderError(f"{display}: the field 'sortOptions.order' must be one of "
                          "[fifo, legacy]")
    if order == "fifo":
        if legacy is not None:
            raise RenderError(f"{display}: the field 'sortOptions.legacySortOptions' is set "
                              "but the selected sort order is 'fifo', not 'legacy'")
        return SortOptions(fifo=True)
    if legacy is None:
        return SortOptions()
    _check_mapping(legacy, "sortOptions.legacySortOptions", {"orderFirst", "orderLast"},
                   display)
    return SortOptions(order_first=_kinds(legacy, "orderFirst", display),
                       order_last=_kinds(legacy, "orderLast", display))


def _check_mapping(value: Any, field: str, known: set[str], display: str) -> None:
    if not isinstance(value, dict):
        raise RenderError(f"{display}: {field} must be a mapping")
    unknown = sorted(set(value) - known)
    if unknown:
        raise RenderError(f"{display}: invalid Kustomization: unknown field "
                          f"'{field}.{unknown[0]}'")


def _kinds(legacy: dict[str, Any], field: str, display: str) -> tuple[str, ...]:
    kinds = legacy.get(field)
    if kinds is None:
        return ()
    if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
        raise RenderError(f"{display}: sortOptions.legacySortOptions.{field} must be a list "
                          "of kinds")
    return tuple(kinds)


def _ranks(first: Sequence[str], last: Sequence[str]) -> dict[str, int]:
    ranks = {kind: i - len(first) for i, kind in enumerate(first)}
    ranks.update({kind: i + 1 for i, kind in enumerate(last)})
    return ranks


def _gvk_string(gvk: Gvk) -> str:
    return "_".join((gvk.group or "~G", gvk.version or "~V", gvk.kind or "~K"))


def _id_string(rid: ResId) -> str:
    return "|".join((str(rid.gvk), rid.namespace or "~X", rid.name or "~N"))


def _compare(a: tuple[int, Gvk, str, str], b: tuple[int, Gvk, str, str]) -> int:
    """kustomize's legacy comparison of two (rank, gvk, gvk string, id string)."""
    rank_a, gvk_a, gs_a, id_a = a
    rank_b, gvk_b, gs_b, id_b = b
    if gvk_a != gvk_b:
        if rank_a != rank_b:
            return -1 if rank_a < rank_b else 1
        if gvk_a.kind == gvk_b.kind == "Namespace" and not (gvk_a.group and gvk_b.group):
            return (gs_a < gs_b) - (gs_a > gs_b)
        return (gs_a > gs_b) - (gs_a < gs_b)
    return (id_a > id_b) - (id_a < id_b)


def legacy_order(resources: list[Resource], options: SortOptions | None = None
                 ) -> list[Resource]:
    """``resources`` in kustomize's legacy order (``options``: its kind lists)."""
    options = options or SortOptions()
    ranks = _ranks(options.order_first, options.order_last)
    keyed: list[tuple[tuple[int, Gvk, str, str], Resource]] = []
    for res in resources:
        rid = res.cur_id
        keyed.append(((ranks.get(rid.gvk.kind, 0), rid.gvk, _gvk_string(rid.gvk),
                       _id_string(rid)), res))
    keyed.sort(key=functools.cmp_to_key(_compare_keyed))
    return [res for _, res in keyed]


def _compare_keyed(x: tuple[tuple[int, Gvk, str, str], Resource],
                   y: tuple[tuple[int, Gvk, str, str], Resource]) -> int:
    return _compare(x[0], y[0])


def output_order(resources: list[Resource], options: SortOptions) -> list[Resource]:
    """``resources`` in the order ``options`` asks for."""
    return list(resources) if options.fifo else legacy_order(resources, options)
