"""Real local Kubernetes clusters for the integration tests.

``local_clusters`` (session) brings up ``FLEETSYNC_TEST_CLUSTERS`` (default 2) real control
planes from clusters/local once for the whole run and stops them at the end, also when the
run fails or is interrupted (every process also dies with the test process). To iterate
quickly against clusters that are already running, point ``FLEETSYNC_TEST_CLUSTERS_DIR`` at a
directory made by ``fleetsync local up``; those are left running.

``git_daemon`` (session) is a real ``git daemon`` on loopback serving every repository
under its base directory; ``git_remotes.new_upstream`` makes one to commit to. ``http_git``
(session) serves the same repositories over smart HTTP behind Basic auth.

``kube`` (per test) is an async client to the first cluster; ``namespace`` is a fresh
namespace on it, deleted afterwards.

``postgres`` (session) is a real PostgreSQL server on 127.0.0.1 (``tests.support.postgres``);
``pg_dsn`` (per test) a fresh database on it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from kubernetes_asyncio import client

from engine.local import fleet, toolchain
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Daemon, HttpGit, serve_git, serve_http
from tests.support.postgres import PgServer, postgres_server


def _from(clusters: list[fleet.LocalCluster]) -> list[TestCluster]:
    return [TestCluster(c.name, c.kubeconfig, c.server, c.labels) for c in clusters]


@pytest.fixture(scope="session")
def local_clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[TestCluster]]:
    """The real local clusters of this test run."""
    reuse = os.environ.get("FLEETSYNC_TEST_CLUSTERS_DIR")
    if reuse:
        rows = fleet.status(Path(reuse))
        if not rows or not all(r.running for r in rows):
            pytest.fail(f"FLEETSYNC_TEST_CLUSTERS_DIR={reuse} has no running clusters")
        yield _from([r.cluster for r in rows])
        return
    count = int(os.environ.get("FLEETSYNC_TEST_CLUSTERS", "2"))
    directory = tmp_path_factory.mktemp("local-clusters")
    bin_dir = toolchain.ensure_binaries()
    try:
        yield _from(fleet.up(directory, count, bin_dir, die_with_parent=True, log=print))
    finally:
        fleet.down(directory, log=print)


@pytest.fixture(scope="session")
def four_clusters(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[TestCluster]]:
    """Four real local clusters of their own (fleet-wide plans and rollouts), brought up
    only for the tests that ask; ``FLEETSYNC_TEST_FOUR_CLUSTERS_DIR`` reuses running ones.
    Each records its writes in ``cluster.audit_log``."""
    reuse = os.environ.get("FLEETSYNC_TEST_FOUR_CLUSTERS_DIR")
    if reuse:
        rows = fleet.status(Path(reuse))
        if len(rows) < 4 or not all(r.running for r in rows):
            pytest.fail(f"FLEETSYNC_TEST_FOUR_CLUSTERS_DIR={reuse} has no 4 running clusters")
        yield _from([r.cluster for r in rows][:4])
        return
    directory = tmp_path_factory.mktemp("four-clusters")
    try:
        yield _from(fleet.up(directory, 4, toolchain.ensure_binaries(), die_with_parent=True,
                             log=print))  # fmt: skip
    finally:
        fleet.down(directory, log=print)


@pytest.fixture
def cluster(local_clusters: list[TestCluster]) -> TestCluster:
    """The first local cluster."""
    return local_clusters[0]


@pytest.fixture
async def kube(cluster: TestCluster) -> AsyncIterator[client.ApiClient]:
    """An async API client to the first local cluster."""
    async with cluster.api_client() as api:
        yield api


@pytest.fixture
async def namespace(kube: client.ApiClient) -> AsyncIterator[str]:
    """A fresh namespace on the first local cluster, deleted after the test."""
    name = f"t-{uuid.uuid4().hex[:10]}"
    core = client.CoreV1Api(kube)
    await core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    await core.delete_namespace(name)


@pytest.fixture(scope="session")
def git_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """A git daemon on loopback serving (and accepting pushes to) repositories under base."""
    with serve_git(tmp_path_factory.mktemp("git-daemon")) as daemon:
        yield daemon


@pytest.fixture(scope="session")
def http_git(git_daemon: Daemon) -> Iterator[HttpGit]:
    """Smart HTTP (git http-backend) over the daemon's repositories, behind Basic auth."""
    with serve_http(git_daemon.base) as http:
        yield http


@pytest.fixture(scope="session")
def postgres() -> Iterator[PgServer]:
    """A PostgreSQL server for this test run, on loopback (its directory directly under
    the temporary directory: pytest's own is closed to the ``postgres`` user)."""
    base = Path(tempfile.mkdtemp(prefix="fleetsync-postgres-"))
    try:
        with postgres_server(base) as server:
            yield server
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def pg_dsn(postgres: PgServer) -> str:
    """The connection string of a fresh database."""
    return postgres.new_database()
