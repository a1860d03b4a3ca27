"""An app's objects on one cluster with what they own, as Argo CD's resource tree shows it.

The managed objects come from the target's status; their descendants are read live by
``metadata.ownerReferences``: Deployment → ReplicaSet → Pod, StatefulSet / DaemonSet /
Job → Pod, CronJob → Job → Pod, Service → EndpointSlice. Only the kinds a parent can own
are listed, once per namespace, at most ``LIST_LIMIT`` objects each (the page says when a
list was cut); each descendant carries its health as ``engine.health`` assesses it.
``build_tree`` (pure) links what was read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.apply.objects import read_live
from engine.clusters import ClusterClient
from engine.health import CustomChecks, assess
from engine.model import ResourceKey
from engine.model.status import ResourceStatus
from engine.model.tree import TreeNode

LIST_LIMIT = 500
MAX_NODES = 2000

# kind (group, Kind) → the kinds it may own, as (apiVersion, Kind).
OWNS: Mapping[tuple[str, str], tuple[tuple[str, str], ...]] = {
    ("apps", "Deployment"): (("apps/v1", "ReplicaSet"),),
    ("apps", "ReplicaSet"): (("v1", "Pod"),),
    ("apps", "StatefulSet"): (("v1", "Pod"),),
    ("apps", "DaemonSet"): (("v1", "Pod"),),
    ("batch", "Job"): (("v1", "Pod"),),
    ("batch", "CronJob"): (("batch/v1", "Job"),),
    ("", "Service"): (("discovery.k8s.io/v1", "EndpointSlice"),),
}
_API_VERSIONS = {("apps", "Deployment"): "apps/v1", ("apps", "StatefulSet"): "apps/v1",
                 ("apps", "DaemonSet"): "apps/v1", ("apps", "ReplicaSet"): "apps/v1",
                 ("batch", "Job"): "batch/v1", ("batch", "CronJob"): "batch/v1",
                 ("", "Service"): "v1"}  # fmt: skip


@dataclass(frozen=True)
class ResourceTree:
    """The nodes, parents before children; ``cut`` names lists that hit the limit."""

    nodes: tuple[TreeNode, ...]
    cut: tuple[str, ...] = ()


async def resource_tree(
    client: ClusterClient, resources: Sequence[ResourceStatus],
    checks: CustomChecks | None = None,
) -> ResourceTree:  # fmt: skip
    """The tree of ``resources`` (a target's managed objects) on ``client``."""
    parents = [r for r in resources if (r.key.group, r.key.kind) in OWNS]
    lives = await asyncio.gather(*(
        read_live(client=client, key=r.key, api_version=_API_VERSIONS[(r.key.group, r.key.kind)])
        for r in parents))
    uids = {r.key: str(((live or {}).get("metadata") or {}).get("uid") or "")
            for r, live in zip(parents, lives, strict=True)}
    owned: list[dict[str, Any]] = []
    cut: list[str] = []
    wanted = _kinds_below({(r.key.group, r.key.kind) for r in parents})
    namespaces = sorted({r.key.namespace for r in parents if r.key.namespace})
    lists = [(api_version, kind, ns) for api_version, kind in sorted(wanted) for ns in namespaces]
    found = await asyncio.gather(*(_list(client, *item) for item in lists))
    for (_, kind, namespace), (items, full) in zip(lists, found, strict=True):
        owned.extend(items)
        if not full:
            cut.append(f"{kind} in {namespace}")
    return ResourceTree(build_tree(resources, uids, owned, checks), tuple(cut))


def build_tree(
    resources: Sequence[ResourceStatus], uids: Mapping[ResourceKey, str],
    owned: Iterable[Mapping[str, Any]], checks: CustomChecks | None = None,
) -> tuple[TreeNode, ...]:  # fmt: skip
    """Managed ``resources`` (with the live ``uids`` of those that may own something), then
    every object of ``owned`` reachable from them by owner references, each
    after its owner; at most ``MAX_NODES``."""
    nodes = [TreeNode(r.key, None, r.health.value if r.health else None, r.message,
                      r.sync.value, managed=True) for r in resources]  # fmt: skip
    by_owner: dict[str, list[Mapping[str, Any]]] = {}
    for obj in owned:
        for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
            if isinstance(ref, Mapping) and ref.get("uid"):
                by_owner.setdefault(str(ref["uid"]), []).append(obj)
    queue = [(key, uid) for key, uid in uids.items() if uid]
    seen = {uid for _, uid in queue}
    while queue and len(nodes) < MAX_NODES:
        parent, uid = queue.pop(0)
        for child in sorted(by_owner.get(uid, ()), key=_name):
            meta = child.get("metadata") or {}
            child_uid = str(meta.get("uid") or "")
            if child_uid in seen:
                continue
            seen.add(child_uid)
            key = _key(child)
            health = assess(child, checks)
            nodes.append(TreeNode(key, parent, health.status.value, health.message))
            if child_uid and (key.group, key.kind) in OWNS:
                queue.append((key, child_uid))
    return tuple(nodes[:MAX_NODES])


def _kinds_below(kinds: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """Every (apiVersion, Kind) that objects of ``kinds`` may own, at any depth."""
    found: set[tuple[str, str]] = set()
    todo = list(kinds)
    while todo:
        for api_version, kind in OWNS.get(todo.pop(), ()):
            if (api_version, kind) not in found:
                found.add((api_version, kind))
                todo.append((api_version.rpartition("/")[0], kind))
    return found


async def _list(client: ClusterClient, api_version: str, kind: str,
                namespace: str) -> tuple[list[dict[str, Any]], bool]:  # fmt: skip
    """The objects of a kind in ``namespace`` and whether that is all of them."""
    res = await client.discovery.lookup(api_version=api_version, kind=kind)
    if res is None:
        return [], True
    items = await client.list(res=res, namespace=namespace, limit=LIST_LIMIT + 1)
    for item in items:  # a list's items do not say what they are
        item.setdefault("apiVersion", api_version)
        item.setdefault("kind", kind)
    return items[:LIST_LIMIT], len(items) <= LIST_LIMIT


def _key(obj: Mapping[str, Any]) -> ResourceKey:
    meta = obj.get("metadata") or {}
    group = str(obj.get("apiVersion") or "").rpartition("/")[0]
    return ResourceKey(group, str(obj.get("kind") or ""), str(meta.get("namespace") or ""),
                       str(meta.get("name") or ""))


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")
