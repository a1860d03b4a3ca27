"""How to sync one app: the options of the apply core (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from engine.diff import IgnoreRule
from engine.health import CustomChecks, HealthResult
from engine.model import ResourceKey
from engine.model.inventory import INVENTORY_NAMESPACE, Inventory
from engine.plan import DEFAULT_PRUNE_SHARE


class Memory(Protocol):
    """What syncs of one cluster remember between runs, each note valid only while the
    object is as a watch last saw it (the hub's ``LiveWatcher.memory``). With it a sync
    neither dry-runs an object that agrees with an unchanged manifest nor reads an
    inventory or namespace it already knows: at fleet scale, requests bound the sync."""

    def fingerprint(self, key: ResourceKey) -> str | None:
        """The object's fingerprint (``engine.diff.fingerprint``) as watched; None when
        it is not watched or absent."""

    def agreed(self, key: ResourceKey, manifest: str) -> HealthResult | None:
        """Its watched health when it agrees with ``manifest`` as it is now, else None."""

    def agree(self, key: ResourceKey, manifest: str, live: str) -> None:
        """The object at fingerprint ``live`` agrees with ``manifest``."""

    def settled(self, key: ResourceKey) -> bool:
        """Whether it agreed with some manifest and is unchanged since."""

    def absent(self, key: ResourceKey, api_version: str) -> bool:
        """Whether its kind is watched and the watch has not seen it (an object without
        fleetsync's label may still be there)."""

    def inventory(self, key: ResourceKey) -> Inventory | None:
        """The inventory ConfigMap ``key`` holds as it is now, if known."""

    def keep_inventory(self, key: ResourceKey, live: str, inventory: Inventory) -> None:
        """ConfigMap ``key`` at fingerprint ``live`` holds ``inventory``."""


@dataclass(frozen=True)
class SyncOptions:
    """How to sync one app: the per-app switches of Argo CD and Flux, with safe defaults."""

    prune: bool = False
    force: bool = True
    create_namespace: bool = False
    prune_share: float = DEFAULT_PRUNE_SHARE
    allow_large_prune: bool = False
    propagation: str = "Background"
    wave_timeout: float = 300.0
    health_timeout: float = 0.0
    ignore: tuple[IgnoreRule, ...] = ()
    inventory_namespace: str = INVENTORY_NAMESPACE
    health_checks: CustomChecks | None = field(default=None, compare=False)
    # What the hub's watches know of this cluster's objects; None: read and dry-run all.
    memory: Memory | None = field(default=None, compare=False)
    # The caller syncs whatever differs (a user's sync, automated sync of a new commit):
    # an object that memory says is settled under an earlier manifest is then taken as
    # changed in Git and applied without a dry run or a read (the diff has no paths), and
    # one its watch has not seen is created without a read first.
    syncs_differences: bool = False
    # The manifests of an earlier render (a plan's base): an object its watch saw agree
    # with its base manifest, and unchanged since, is diffed against that manifest after
    # the dry run of the new one, without a read. Only for comparisons never executed.
    base: tuple[Mapping[str, Any], ...] | None = field(default=None, compare=False)
    # Sync these objects only (a user's selective sync); None: all of them.
    only: frozenset[ResourceKey] | None = None
