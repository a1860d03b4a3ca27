"""An app's inventory: the objects it last applied to one cluster (pure).

The inventory is what makes pruning safe and restart-proof. It is kept *in the cluster it
describes*, as a ConfigMap ``fleetsync-inventory-<app>`` in ``fleetsync-system`` (created
when needed), not in the hub's store: the CLI (``fleetsync sync``) and the hub then see the
same inventory, a hub started from an empty data directory still prunes what an earlier
hub applied, and the record lives and dies with the cluster. Each entry keeps the
apiVersion the object was applied with, so a prune can address a kind whose group no
longer prefers that version. The ConfigMap carries the managed-by label but no tracking
annotation, so no app ever prunes it. This module only converts to and from its data;
``engine.apply.objects`` reads and writes it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.errors import InventoryError
from engine.model import MANAGED_BY_LABEL, MANAGED_BY_VALUE, ResourceKey

INVENTORY_NAMESPACE = "fleetsync-system"
INVENTORY_PREFIX = "fleetsync-inventory-"
ENTRIES_KEY = "entries"


@dataclass(frozen=True)
class Inventory:
    """Applied objects: each key with the apiVersion it was applied as."""

    entries: Mapping[ResourceKey, str] = field(default_factory=dict)

    def keys(self) -> frozenset[ResourceKey]:
        """The object keys."""
        return frozenset(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    @classmethod
    def of(cls, objects: Iterable[Mapping[str, Any]]) -> Inventory:
        """The inventory of a set of manifests."""
        return cls({ResourceKey.of(dict(o)): str(o.get("apiVersion") or "") for o in objects})

    def union(self, other: Inventory) -> Inventory:
        """Entries of both; ``self`` wins where both name a key."""
        return Inventory({**other.entries, **self.entries})

    def restricted(self, keys: Iterable[ResourceKey]) -> Inventory:
        """Only the entries of ``keys``."""
        wanted = set(keys)
        return Inventory({k: v for k, v in self.entries.items() if k in wanted})

    def to_data(self, app: str) -> dict[str, str]:
        """The ConfigMap ``data`` that stores this inventory."""
        rows = [
            {"apiVersion": v, "kind": k.kind, "namespace": k.namespace, "name": k.name}
            for k, v in sorted(self.entries.items())
        ]
        return {"app": app, ENTRIES_KEY: json.dumps(rows, indent=0, sort_keys=True)}

    @classmethod
    def from_data(cls, data: Mapping[str, str]) -> Inventory:
        """Read ConfigMap ``data`` written by ``to_data``."""
        try:
            rows = json.loads(data.get(ENTRIES_KEY) or "[]")
            entries = {}
            for row in rows:
                obj = {
                    "apiVersion": row["apiVersion"],
                    "kind": row["kind"],
                    "metadata": {"namespace": row["namespace"], "name": row["name"]},
                }
                entries[ResourceKey.of(obj)] = str(row["apiVersion"])
        except (ValueError, TypeError, KeyError) as err:
            raise InventoryError(f"inventory entries are malformed: {err}") from None
        return cls(entries)


def configmap_name(app: str) -> str:
    """The name of the ConfigMap holding ``app``'s inventory."""
    return INVENTORY_PREFIX + app


def configmap(app: str, inventory: Inventory, *, namespace: str) -> dict[str, Any]:
    """The ConfigMap manifest holding ``app``'s inventory."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": configmap_name(app),
            "namespace": namespace,
            "labels": {MANAGED_BY_LABEL: MANAGED_BY_VALUE},
        },
        "data": inventory.to_data(app),
    }
