"""What syncs remember through the watches: a note holds only while the object is as the
watch saw it when the note was made; any change, deletion or lost watch drops it."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from engine.clusters.watch import LiveWatcher, _KindWatch
from engine.diff.normalise import fingerprint
from engine.model import TRACKING_ANNOTATION, HealthStatus, ResourceKey, TargetKey
from engine.model.inventory import Inventory

CLUSTER = "local-1"
TARGET = TargetKey("web", CLUSTER)
CONFIGMAP: dict[str, Any] = {
    "apiVersion": "v1", "kind": "ConfigMap",
    "metadata": {"name": "settings", "namespace": "dev", "resourceVersion": "1",
                 "annotations": {TRACKING_ANNOTATION: "web:/ConfigMap:dev/settings"}},
    "data": {"colour": "blue"},
}  # fmt: skip
KEY = ResourceKey.of(CONFIGMAP)
KIND = ("v1", "ConfigMap")


def watcher() -> LiveWatcher:
    return LiveWatcher(pool=None, on_drift=lambda *_: None,  # type: ignore[arg-type]
                       on_health=lambda *_: None)


def edited(**data: str) -> dict[str, Any]:
    obj = copy.deepcopy(CONFIGMAP)
    obj["data"] = data
    obj["metadata"]["resourceVersion"] = "2"
    return obj


def test_an_agreement_holds_until_the_object_changes() -> None:
    live = watcher()
    memory = live.memory(CLUSTER)
    live._observe(CLUSTER, "ADDED", copy.deepcopy(CONFIGMAP))
    assert memory.agreed(KEY, "m1") is None
    memory.agree(KEY, "m1", fingerprint(CONFIGMAP))
    health = memory.agreed(KEY, "m1")
    assert health is not None and health.status is HealthStatus.HEALTHY
    assert memory.agreed(KEY, "m2") is None  # another manifest was never checked
    bookkeeping = copy.deepcopy(CONFIGMAP)
    bookkeeping["metadata"]["resourceVersion"] = "5"
    live._observe(CLUSTER, "MODIFIED", bookkeeping)
    assert memory.agreed(KEY, "m1") is not None  # nothing users declare changed
    live._observe(CLUSTER, "MODIFIED", edited(colour="red"))
    assert memory.agreed(KEY, "m1") is None


def test_absent_needs_a_listed_watch_that_never_saw_the_object() -> None:
    live = watcher()
    memory = live.memory(CLUSTER)
    assert not memory.absent(KEY, "v1")  # not watched: nothing is known
    live._watches[(CLUSTER, KIND)] = _KindWatch(None, asyncio.Event())  # type: ignore[arg-type]
    assert not memory.absent(KEY, "v1")  # watched, not listed yet
    live._watches[(CLUSTER, KIND)].synced.set()
    assert memory.absent(KEY, "v1")
    live._observe(CLUSTER, "ADDED", copy.deepcopy(CONFIGMAP))
    assert not memory.absent(KEY, "v1")


def test_settled_means_agreed_with_some_manifest_and_unchanged_since() -> None:
    live = watcher()
    memory = live.memory(CLUSTER)
    live._observe(CLUSTER, "ADDED", copy.deepcopy(CONFIGMAP))
    assert not memory.settled(KEY)
    memory.keep_inventory(KEY, fingerprint(CONFIGMAP), Inventory({}))
    assert not memory.settled(KEY)  # an inventory is no agreement with a manifest
    memory.agree(KEY, "m1", fingerprint(CONFIGMAP))
    assert memory.settled(KEY) and memory.agreed(KEY, "m2") is None
    live._observe(CLUSTER, "MODIFIED", edited(colour="red"))
    assert not memory.settled(KEY)


def test_an_agreement_on_a_version_not_seen_yet_waits_for_exactly_that_version() -> None:
    live = watcher()
    memory = live.memory(CLUSTER)
    live._observe(CLUSTER, "ADDED", copy.deepcopy(CONFIGMAP))
    written = edited(colour="green")  # fleetsync wrote it; the watch has not said so yet
    memory.agree(KEY, "m2", fingerprint(written))
    assert memory.agreed(KEY, "m2") is None  # the watch still shows the old version
    live._observe(CLUSTER, "MODIFIED", edited(colour="red"))  # someone else's version
    assert memory.agreed(KEY, "m2") is None
    memory.agree(KEY, "m2", fingerprint(written))
    live._observe(CLUSTER, "MODIFIED", written)
    assert memory.agreed(KEY, "m2") is not None


def test_deletion_a_lost_watch_and_a_hard_refresh_drop_notes() -> None:
    live = watcher()
    memory = live.memory(CLUSTER)
    for drop in (lambda: live._gone(CLUSTER, KEY),
                 lambda: live._forget_notes(CLUSTER, KIND),
                 lambda: live.forget_notes(TARGET)):
        live._observe(CLUSTER, "ADDED", copy.deepcopy(CONFIGMAP))
        memory.agree(KEY, "m1", fingerprint(CONFIGMAP))
        assert memory.agreed(KEY, "m1") is not None
        drop()
        assert memory.agreed(KEY, "m1") is None
    # A hard refresh of another target leaves this one's notes alone.
    live._observe(CLUSTER, "ADDED", copy.deepcopy(CONFIGMAP))
    memory.agree(KEY, "m1", fingerprint(CONFIGMAP))
    live.forget_notes(TargetKey("other", CLUSTER))
    assert memory.agreed(KEY, "m1") is not None
    # Notes are per cluster.
    assert live.memory("local-2").agreed(KEY, "m1") is None


def test_an_inventory_is_known_only_at_the_version_it_was_read_or_written() -> None:
    live = watcher()
    memory = live.memory(CLUSTER)
    stored = Inventory.from_data({})
    live._observe(CLUSTER, "ADDED", copy.deepcopy(CONFIGMAP))
    memory.keep_inventory(KEY, fingerprint(CONFIGMAP), stored)
    assert memory.inventory(KEY) == stored
    live._observe(CLUSTER, "MODIFIED", edited(colour="red"))  # edited by hand
    assert memory.inventory(KEY) is None
