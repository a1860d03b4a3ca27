"""A replica frozen in the middle of a sync (SIGSTOP: a long GC pause, a stalled node) loses
its shard to another replica and then wakes up with the rest of its applies still queued.
Two ``fleetsync serve`` processes on one PostgreSQL and real clusters; the managed
cluster's kube-apiserver audit log says who wrote what and when. Proven here: the woken
replica sends no write after the taker's first one (its writes are guarded by ownership),
its record of the sync is refused by the store (fenced) and the taker's stands, and every
object ends as the commit says."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from kubernetes_asyncio import client as k8s

from engine.hub.ownership import lease_name
from engine.local import fleet, toolchain
from engine.local.controlplane import audit_log
from engine.shards import assignment
from engine.store.queries import TAKEN_OVER
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream
from tests.support.hubkit import configmap_yaml, eventually, hub_dir, push_webhook
from tests.support.replicas import (
    audited_writes,
    query,
    shard_holders,
    start_replica,
    stop_replicas,
)

pytestmark = pytest.mark.timeout(300)
LEASES = "fleetsync-replicas"
DURATION = 3.0
REPLICAS = ("replica-a", "replica-b")
OBJECTS = 150
QPS = 20  # the managed cluster's limit: the commit's applies take seconds, not milliseconds
IN_FLIGHT = timedelta(seconds=0.5)  # a request sent just before the freeze still arrives


def _app(repo: str) -> str:
    return yaml.safe_dump({
        "apiVersion": "fleetsync.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "fenced"},
        "spec": {"project": "default",
                 "source": {"repoURL": repo, "targetRevision": "main", "path": "app"},
                 "destination": {"namespace": "fenced",
                                 "clusterSelector": {"matchLabels": {"role": "managed"}}},
                 "syncPolicy": {"automated": {"prune": True},
                                "syncOptions": ["CreateNamespace=true"]}}})


def _many(colour: str) -> dict[str, str]:
    return {f"app/cm-{i:03d}.yaml": configmap_yaml(f"cm-{i:03d}", {"colour": colour})
            for i in range(OBJECTS)}  # fmt: skip


async def _coloured(cluster: TestCluster, colour: str) -> int:
    async with cluster.api_client() as api:
        found = await k8s.CoreV1Api(api).list_namespaced_config_map("fenced")
    return sum(1 for c in found.items if (c.data or {}).get("colour") == colour)


async def test_a_frozen_replica_that_wakes_up_after_a_takeover_writes_nothing_more(
    git_daemon: Daemon, tmp_path: Path, pg_dsn: str,
) -> None:
    directory = tmp_path / "fleet"
    made = fleet.up(directory, 2, toolchain.ensure_binaries(), die_with_parent=True, log=print)
    management, managed = (
        TestCluster(c.name, c.kubeconfig, c.server, {"role": role})
        for c, role in zip(made, ("management", "managed"), strict=True))
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        async with management.api_client() as api:
            await k8s.CoreV1Api(api).create_namespace(k8s.V1Namespace(
                metadata=k8s.V1ObjectMeta(name=LEASES)))
        upstream = new_upstream(git_daemon, tmp_path, "fenced", _many("blue"))
        dirs = {}
        for name in REPLICAS:
            dirs[name] = hub_dir(tmp_path / name, [management, managed],
                                 {"app.yaml": _app(upstream.url)},
                                 extra={"store": {"postgres": {"dsnEnv": "FLEETSYNC_DATABASE_URL"}},
                                        "scaleOut": {"leaseCluster": management.name,
                                                     "namespace": LEASES,
                                                     "leaseDuration": f"{DURATION:g}s"}})
            registration = dirs[name].root / "clusters.yaml"
            entries = yaml.safe_load(registration.read_text())
            entries["clusters"][1]["limits"] = {"qps": QPS, "concurrentApplies": 2}
            registration.write_text(yaml.safe_dump(entries))
        for name in REPLICAS:
            processes[name] = start_replica(dirs[name], name, pg_dsn, tmp_path / f"{name}.log")
        owners = assignment([management.name, managed.name], REPLICAS)
        frozen = owners[managed.name]
        taker = next(r for r in REPLICAS if r != frozen)

        async def blue() -> bool:
            return await _coloured(managed, "blue") == OBJECTS

        await eventually(blue, within=120, what="the first commit applied")

        red_commit = upstream.commit(_many("red"), "red")
        upstream.push("main")
        for name in REPLICAS:
            await push_webhook(dirs[name].url, upstream)

        async def started() -> bool:
            return await _coloured(managed, "red") >= 5

        await eventually(started, within=60, every=0.05, what="the owner applying red")
        os.killpg(processes[frozen].pid, signal.SIGSTOP)
        froze = datetime.now(UTC)
        at_freeze = await _coloured(managed, "red")
        assert at_freeze < OBJECTS, "the sync ended before the freeze: nothing left to fence"

        async def taken() -> bool:
            held = await shard_holders(management, LEASES)
            return held.get(lease_name("shard", managed.name)) == taker

        await eventually(taken, within=30, what="the taker holding the frozen replica's shard")

        async def red() -> bool:
            return await _coloured(managed, "red") == OBJECTS

        await eventually(red, within=120, what="the taker applying red everywhere")
        os.killpg(processes[frozen].pid, signal.SIGCONT)
        await asyncio.sleep(3 * DURATION)  # the woken replica's queued applies come due

        # Since the freeze: the taker wrote what was left; the woken replica wrote none of
        # the applies it had queued (a request on the wire at the freeze may land just
        # after it). It does get its shard back later (the assignment names it again), but
        # then finds nothing to change.
        since = froze + IN_FLIGHT
        writes = [w for w in audited_writes(audit_log(directory / managed.name))
                  if w[0] > since and "/configmaps/cm-" in w[2]]  # fmt: skip
        by_frozen = [w for w in writes if f"(replica {frozen})" in w[1]]
        by_taker = [w for w in writes if f"(replica {taker})" in w[1]]
        print(f"frozen after {at_freeze} of {OBJECTS} objects; since then {len(by_taker)} "
              f"writes by the taker, {len(by_frozen)} by the woken replica")
        assert len(by_taker) >= OBJECTS - at_freeze - 2
        assert not by_frozen, f"the woken replica wrote its stale applies: {by_frozen[:3]}"
        assert await _coloured(managed, "red") == OBJECTS

        # The store: the taker's record of red stands; the frozen one's sync was ended as
        # interrupted by the taker and its own late record was refused.
        rows = query(pg_dsn, "SELECT sync, revision FROM target_status"
                             f" WHERE cluster = '{managed.name}'")
        assert rows == [("Synced", red_commit)], rows
        operations = query(pg_dsn, "SELECT revision, phase, message FROM operation"
                                   f" WHERE cluster = '{managed.name}' ORDER BY id")
        print("operations:", operations)
        assert operations[-1][:2] == (red_commit, "Succeeded"), operations
        assert (red_commit, "Error", TAKEN_OVER) in operations  # the frozen replica's
        log = (tmp_path / f"{frozen}.log").read_text()
        refused = f"shard {managed.name} is claimed by "
        assert refused in log and f"now, not by {frozen} (generation" in log  # its late record
    finally:
        stop_replicas(processes)
        fleet.down(directory, log=print)
