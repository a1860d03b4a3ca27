"""Hub replicas as separate ``fleetsync serve`` processes, and what tests read about them:
who holds the shard Leases, the shared PostgreSQL store, the clusters' audit logs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
from kubernetes_asyncio import client as k8s

from tests.support.clusters import TestCluster
from tests.support.hubkit import HubDir

REPO_ROOT = Path(__file__).resolve().parents[2]
WRITES = {"create", "update", "patch", "delete", "deletecollection"}


def start_replica(directory: HubDir, name: str, dsn: str, log: Path,
                  env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:  # fmt: skip
    """``fleetsync serve`` for ``directory`` as replica ``name`` (its own process group), the
    store's DSN in ``$FLEETSYNC_DATABASE_URL`` and ``env`` added to the environment, output
    appended to ``log``."""
    env = {**os.environ, **(env or {}), "POD_NAME": name, "FLEETSYNC_DATABASE_URL": dsn}
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "serve", "--config", str(directory.config)],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)


async def shard_holders(management: TestCluster, namespace: str) -> dict[str, str]:
    """Shard Lease → holder, for the shard Leases held now (by anyone)."""
    async with management.api_client() as api:
        found = await k8s.CoordinationV1Api(api).list_namespaced_lease(
            namespace, label_selector="fleetsync.io/lease=shard")
    return {lease.metadata.name: lease.spec.holder_identity for lease in found.items
            if lease.spec.holder_identity}


def query(dsn: str, sql: str) -> list[Any]:
    """The rows ``sql`` returns from the store at ``dsn``."""
    with psycopg.connect(dsn) as conn:
        return conn.execute(sql).fetchall()


def audited_writes(path: Path) -> list[tuple[datetime, str, str]]:
    """(received, user agent, verb and URI) of every object write a local cluster's audit
    log recorded, dry runs left out, in the order received."""
    found = []
    for line in path.read_bytes().splitlines():
        event = orjson.loads(line)
        uri = str(event.get("requestURI", ""))
        if event.get("verb") not in WRITES or "dryRun=" in uri:
            continue
        received = datetime.fromisoformat(event["requestReceivedTimestamp"])
        found.append((received, str(event.get("userAgent", "")), f"{event['verb']} {uri}"))
    return sorted(found)


def stop_replicas(processes: dict[str, subprocess.Popen[bytes]]) -> None:
    """Stop every replica still running (waking a stopped one first): SIGTERM, then
    SIGKILL after 25 s."""
    for process in processes.values():
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGCONT)
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes.values():
        try:
            process.wait(timeout=25)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
