"""How to sync one app: the options of the apply core (pure)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from engine.diff import IgnoreRule
from engine.health import CustomChecks
from engine.model import ResourceKey
from engine.model.inventory import INVENTORY_NAMESPACE
from engine.plan import DEFAULT_PRUNE_SHARE


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
    # The fingerprint (engine.diff.fingerprint) of an object as a watch last saw it, or
    # None: when a dry run's answer has the same, the object is in sync and is not read.
    seen: Callable[[ResourceKey], str | None] | None = field(default=None, compare=False)
