"""Three hub processes (``fleetsync serve``) on one PostgreSQL, with their Leases in a
management cluster and one app on four managed clusters, all real: the five shards (one per
registered cluster) are divided among the replicas, each target is synced exactly once, a
replica killed with SIGKILL hands its shards over within the lease duration plus a step,
the survivors apply the next commit everywhere (still once per target), and the killed
replica, started again, rejoins and gets its shards back (the assignment is the same for
the same members)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from kubernetes_asyncio import client as k8s

from engine.hub.ownership import lease_name
from engine.local import fleet, toolchain
from engine.shards import assignment
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream
from tests.support.hubkit import (
    at_once,
    configmap_data,
    configmap_yaml,
    eventually,
    hub_dir,
    push_webhook,
)
from tests.support.replicas import query, shard_holders, start_replica, stop_replicas

pytestmark = pytest.mark.timeout(420)
LEASES = "fleetsync-replicas"
DURATION = 3.0
RESYNC = 10.0  # the app's timeout.reconcile
REPLICAS = ("replica-0", "replica-1", "replica-2")


def _app(repo: str) -> str:
    return yaml.safe_dump({
        "apiVersion": "fleetsync.io/v1alpha1", "kind": "Application",
        "metadata": {"name": "fleet-app"},
        "spec": {"project": "default",
                 "source": {"repoURL": repo, "targetRevision": "main", "path": "app"},
                 "destination": {"namespace": "fleet-app",
                                 "clusterSelector": {"matchLabels": {"role": "managed"}}},
                 "syncPolicy": {"automated": {"prune": True},
                                "syncOptions": ["CreateNamespace=true",
                                                f"timeout.reconcile={RESYNC:g}s"]}}})


async def test_three_replicas_divide_hand_over_and_rejoin(
    git_daemon: Daemon, tmp_path: Path, pg_dsn: str,
) -> None:
    directory = tmp_path / "fleet"
    made = fleet.up(directory, 5, toolchain.ensure_binaries(), die_with_parent=True, log=print)
    clusters = [TestCluster(c.name, c.kubeconfig, c.server,
                            {"role": "management" if i == 0 else "managed"})
                for i, c in enumerate(made)]  # fmt: skip
    management, managed = clusters[0], clusters[1:]
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        async with management.api_client() as api:
            await k8s.CoreV1Api(api).create_namespace(k8s.V1Namespace(
                metadata=k8s.V1ObjectMeta(name=LEASES)))
        upstream = new_upstream(git_daemon, tmp_path, "replica-processes",
                                {"app/cm.yaml": configmap_yaml("settings", {"colour": "blue"})})
        dirs = {name: hub_dir(tmp_path / name, clusters, {"app.yaml": _app(upstream.url)},
                              extra={"store": {"postgres": {"dsnEnv": "FLEETSYNC_DATABASE_URL"}},
                                     "scaleOut": {"leaseCluster": management.name,
                                                  "namespace": LEASES,
                                                  "leaseDuration": f"{DURATION:g}s"}})
                for name in REPLICAS}  # fmt: skip
        for name in REPLICAS:
            processes[name] = start_replica(dirs[name], name, pg_dsn, tmp_path / f"{name}.log")

        # Every registered cluster is a shard; with all three up, each is held by the
        # replica the shared assignment names.
        before = {lease_name("shard", cluster): owner for cluster, owner in
                  assignment([c.name for c in clusters], REPLICAS).items()}  # fmt: skip
        assert len(set(before.values())) >= 2

        async def divided() -> bool:
            return await shard_holders(management, LEASES) == before

        await eventually(divided, within=90, what="the five shards divided as assigned")

        def synced() -> bool:
            rows = query(pg_dsn, "SELECT cluster, sync FROM target_status")
            return sorted(rows) == sorted((c.name, "Synced") for c in managed)

        await eventually(lambda: at_once(synced()), within=90, what="every target synced")
        counts = query(pg_dsn, "SELECT cluster, COUNT(*) FROM operation GROUP BY cluster")
        assert sorted(counts) == sorted((c.name, 1) for c in managed), counts  # once each

        # SIGKILL the replica holding the most shards: no goodbye, its Leases must expire.
        victim = max(REPLICAS, key=lambda r: list(before.values()).count(r))
        lost = {lease for lease, holder in before.items() if holder == victim}
        os.killpg(processes[victim].pid, signal.SIGKILL)
        processes[victim].wait(timeout=10)
        killed = time.monotonic()

        async def handed_over() -> bool:
            held = await shard_holders(management, LEASES)
            return all(held.get(lease) not in (None, victim) for lease in lost)

        await eventually(handed_over, within=30, every=0.25, what="the shards handed over")
        took = time.monotonic() - killed
        print(f"shards of a killed replica handed over in {took:.1f} s "
              f"(lease duration {DURATION:g} s)")
        assert took <= DURATION + RESYNC  # the bound: the lease duration and one resync

        upstream.commit({"app/cm.yaml": configmap_yaml("settings", {"colour": "red"})}, "red")
        upstream.push("main")
        survivor = next(r for r in REPLICAS if r != victim)
        await push_webhook(dirs[survivor].url, upstream)
        for cluster in managed:
            async def red(c: TestCluster = cluster) -> bool:
                return await configmap_data(c, "fleet-app", "settings") == {"colour": "red"}

            await eventually(red, within=60, what=f"red on {cluster.name}")

        # The killed replica comes back under its name and gets its shards back.
        processes[victim] = start_replica(dirs[victim], victim, pg_dsn, tmp_path / f"{victim}.log")

        async def rejoined() -> bool:
            return await shard_holders(management, LEASES) == before

        await eventually(rejoined, within=60, what="the same division as before")
        await asyncio.sleep(2 * DURATION)  # let any double sync show, if there were one
        counts = query(pg_dsn, "SELECT cluster, COUNT(*) FROM operation GROUP BY cluster")
        assert sorted(counts) == sorted((c.name, 2) for c in managed), counts
    finally:
        stop_replicas(processes)
        fleet.down(directory, log=print)

