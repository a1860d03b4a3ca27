"""``fleetsync diff`` and ``fleetsync sync`` on a local directory: exit codes and output."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.cli import main
from tests.support.clusters import TestCluster

MANIFESTS = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {colour: blue}
"""


@pytest.fixture
def app_dir(tmp_path: Path) -> Path:
    path = tmp_path / "app"
    path.mkdir()
    (path / "settings.yaml").write_text(MANIFESTS)
    return path


@pytest.fixture
def cli_app(clusters_file: Path, cluster: TestCluster) -> Iterator[tuple[str, str]]:
    """(app, namespace) for the CLI, which creates the namespace; both removed afterwards."""
    app, namespace = f"cli-{uuid.uuid4().hex[:8]}", f"cli-{uuid.uuid4().hex[:8]}"
    yield app, namespace
    _delete(clusters_file, cluster, namespace, app)


def test_diff_exit_codes_and_sync(
    clusters_file: Path,
    cluster: TestCluster,
    app_dir: Path,
    cli_app: tuple[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    app, cli_namespace = cli_app
    common = [
        "--cluster",
        cluster.name,
        "--namespace",
        cli_namespace,
        "--clusters",
        str(clusters_file),
        "--app",
        app,
        str(app_dir),
    ]

    assert main(["diff", *common]) == 1
    assert "ConfigMap" in capsys.readouterr().out

    assert main(["sync", "--create-namespace", *common]) == 0
    assert "Created" in capsys.readouterr().out
    assert main(["diff", *common]) == 0
    assert "in sync" in capsys.readouterr().out

    (app_dir / "settings.yaml").write_text(MANIFESTS.replace("blue", "green"))
    assert main(["diff", *common]) == 1
    assert "green" in capsys.readouterr().out

    (app_dir / "settings.yaml").write_text("kind: [broken\n")
    assert main(["diff", *common]) == 2
    assert "RenderFailed" in capsys.readouterr().err

    bad_cluster = ["--cluster", "nope", *common[2:]]
    assert main(["diff", *bad_cluster]) == 2
    assert "no cluster 'nope'" in capsys.readouterr().err


def _delete(clusters_file: Path, cluster: TestCluster, namespace: str, app: str) -> None:
    import asyncio

    from engine.clusters import ClusterPool, ClusterRegistry, NotFound
    from engine.model.inventory import INVENTORY_NAMESPACE, configmap_name

    async def clean() -> None:
        async with ClusterPool(ClusterRegistry.load(clusters_file)) as pool:
            client = await pool.client(cluster.name)
            ns = await client.resource(api_version="v1", kind="Namespace")
            cm = await client.resource(api_version="v1", kind="ConfigMap")
            for res, where, name in [
                (ns, "", namespace),
                (cm, INVENTORY_NAMESPACE, configmap_name(app)),
            ]:
                with contextlib.suppress(NotFound):
                    await client.delete(res=res, namespace=where, name=name)

    asyncio.run(clean())
