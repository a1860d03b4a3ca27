"""Cascade deletion of one app on one cluster (Argo CD's resources finalizer).

What the app's inventory tracks is deleted in reverse sync-wave order: the highest wave
first, each wave gone (as its propagation policy makes it: a Foreground deletion lasts until
the object's dependents are gone) before the next one starts; within a wave the reverse of
the apply order, Namespaces and CRDs last. An object no longer tracked by the app, or
marked ``Delete=false``, is left alone. The inventory is kept for what could not be
deleted, so a retry picks up where this one stopped, and removed when nothing is left.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import groupby
from typing import Any

from engine.apply.objects import (
    POLL,
    drop_inventory,
    prune_one,
    read_inventory,
    read_live,
    write_inventory,
)
from engine.clusters import ClusterClient
from engine.errors import PlanError
from engine.model import ResourceKey
from engine.model.inventory import Inventory
from engine.model.results import ResourceResult, ResultCode
from engine.plan import deletion_decision, prune_rank, sync_wave


@dataclass(frozen=True)
class Deletion:
    """What a cascade deletion did, object by object, and what it left tracked."""

    results: tuple[ResourceResult, ...]
    remaining: tuple[ResourceKey, ...]
    message: str = ""  # why objects remain ("" when none does)


async def delete_app(
    *, app: str, client: ClusterClient, inventory_namespace: str, propagation: str,
    wave_timeout: float,
) -> Deletion:  # fmt: skip
    """Delete what ``app`` tracks on ``client``, wave after wave, highest first."""
    inventory = await read_inventory(client=client, app=app, namespace=inventory_namespace)
    keys = list(inventory.keys())
    lives = await asyncio.gather(*(
        read_live(client=client, key=k, api_version=inventory.entries[k]) for k in keys))
    live = dict(zip(keys, lives, strict=True))
    results: list[ResourceResult] = []
    left: list[ResourceKey] = []
    message = ""
    for wave, group in groupby(sorted(keys, key=lambda k: _order(k, live[k]), reverse=True),
                               key=lambda k: _wave(live[k])):  # fmt: skip
        if message:  # an earlier wave is not gone: later ones wait for the next try
            left.extend(group)
            continue
        done = [await prune_one(client=client, app=app, key=k, api_version=inventory.entries[k],
                                live=live[k], propagation=propagation,
                                decide=deletion_decision)
                for k in group]  # fmt: skip
        results.extend(done)
        failed = [r.key for r in done if r.code is ResultCode.PRUNE_FAILED]
        deleted = [r.key for r in done if r.code is ResultCode.PRUNED and live[r.key]]
        lingering = await wait_gone(client, inventory, deleted, within=wave_timeout)
        left.extend(failed + lingering)
        if failed or lingering:
            message = _stopped(wave, failed, lingering, wave_timeout)
    await _keep_tracking(client, app, inventory_namespace, inventory, left)
    return Deletion(tuple(results), tuple(left), message)


def _wave(live: Mapping[str, Any] | None) -> int:
    """The live object's sync wave; an unreadable annotation counts as wave 0."""
    if live is None:
        return 0
    try:
        return sync_wave(live)
    except PlanError:
        return 0


def _order(key: ResourceKey, live: Mapping[str, Any] | None) -> tuple[Any, ...]:
    return (_wave(live), *prune_rank(key))


async def wait_gone(
    client: ClusterClient, inventory: Inventory, keys: Sequence[ResourceKey], *, within: float
) -> list[ResourceKey]:
    """Wait until every object of ``keys`` is gone; those still there after ``within``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    waiting = list(keys)
    while waiting:
        found = await asyncio.gather(*(
            read_live(client=client, key=k, api_version=inventory.entries[k]) for k in waiting))
        waiting = [k for k, obj in zip(waiting, found, strict=True) if obj is not None]
        if not waiting or loop.time() >= deadline:
            break
        await asyncio.sleep(POLL)
    return waiting


async def _keep_tracking(
    client: ClusterClient, app: str, namespace: str, inventory: Inventory,
    left: Sequence[ResourceKey],
) -> None:  # fmt: skip
    if not left:
        await drop_inventory(client=client, app=app, namespace=namespace)
        return
    await write_inventory(client=client, app=app, namespace=namespace,
                          inventory=inventory.restricted(left), previous=inventory)


def _stopped(wave: int, failed: Sequence[ResourceKey], lingering: Sequence[ResourceKey],
             within: float) -> str:  # fmt: skip
    parts = []
    if failed:
        parts.append("could not delete " + ", ".join(map(str, failed)))
    if lingering:
        parts.append(f"still there after {within:.0f}s: " + ", ".join(map(str, lingering)))
    return f"wave {wave}: " + "; ".join(parts) + "; lower waves wait"
