"""A hub whose store is PostgreSQL (``store.postgres.dsnEnv``): it syncs an app on a real
cluster, the status and history are rows of the database, and a second hub started on the
same database after the first one stopped reads them."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from engine.model import SyncStatus, TargetKey
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, new_upstream
from tests.support.hubkit import (
    application_yaml,
    clean_up,
    configmap_yaml,
    eventually,
    hub_dir,
    running_hub,
    status_of,
)

pytestmark = pytest.mark.timeout(120)


async def test_a_hub_keeps_its_state_in_postgres(
    local_clusters: list[TestCluster], git_daemon: Daemon, tmp_path: Path, pg_dsn: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cluster = local_clusters[0]
    monkeypatch.setenv("FLEETSYNC_DATABASE_URL", pg_dsn)
    upstream = new_upstream(git_daemon, tmp_path, "on-postgres",
                            {"app/cm.yaml": configmap_yaml("settings", {"colour": "blue"})})
    apps = {"pg-app.yaml": application_yaml("pg-app", upstream.url, "app", "pg-app")}
    directory = hub_dir(tmp_path / "hub", local_clusters[:1], apps,
                        extra={"store": {"postgres": {"dsnEnv": "FLEETSYNC_DATABASE_URL"}}})
    key = TargetKey("pg-app", cluster.name)
    try:
        async with running_hub(directory) as hub:
            async def synced() -> bool:
                status = await status_of(hub, "pg-app", cluster.name)
                return status is not None and status.sync is SyncStatus.SYNCED

            await eventually(synced, within=60, what="the app synced")
        with psycopg.connect(pg_dsn) as conn:
            rows = conn.execute("SELECT sync FROM target_status WHERE app = 'pg-app'").fetchall()
            entries = conn.execute("SELECT phase FROM operation WHERE app = 'pg-app'").fetchall()
        assert rows == [("Synced",)] and ("Succeeded",) in entries
        assert not (directory.root / "data" / "fleetsync.db").exists()
        async with running_hub(directory) as again:
            assert len(await again.store.history(key)) >= 1
    finally:
        await clean_up(cluster, namespaces=["pg-app"], apps=["pg-app"])
