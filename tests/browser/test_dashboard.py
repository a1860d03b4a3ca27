"""The dashboard in Debian's headless Chromium against the real server on loopback.

Chromium loads the page, runs its JavaScript (which fetches the REST API) within a
virtual time budget, and prints the resulting DOM; the tests read that DOM.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.model import TargetKey
from engine.model.status import Condition
from tests.integration.api.hub import ServedHub

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)",
)
MARKUP = '<img id="injected" src="x">'


def dump_dom(url: str, profile: Path) -> str:
    """The DOM of ``url`` after its scripts ran for up to 3 s of virtual time."""
    result = subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=3000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedHub]:
    with ServedHub(tmp_path) as served:
        yield served


def test_app_list_shows_apps_and_their_statuses(served: ServedHub, tmp_path: Path) -> None:
    dom = dump_dom(f"{served.url}/", tmp_path / "profile")
    for name in ("demo-dev", "demo-prod", "fleet", "broken"):
        assert f'data-app="{name}"' in dom, name
    assert 'class="badge sync-Synced"' in dom and 'class="badge health-Healthy"' in dom
    assert 'class="badge sync-OutOfSync"' in dom and 'class="badge health-Degraded"' in dom
    assert "no registered cluster is named" in dom
    assert "Loading…" not in dom
    assert "Problems in the app sources" in dom and "invalid YAML" in dom
    assert '&lt;img id="injected" src="x"&gt;.yaml' in dom  # the broken file's name, as text
    assert 'id="injected"' not in dom.replace('&lt;img id="injected"', "")


def test_app_page_shows_resource_tree_operation_and_history(
    served: ServedHub, tmp_path: Path
) -> None:
    dom = dump_dom(f"{served.url}/#/apps/fleet", tmp_path / "profile")
    assert 'data-app="fleet"' in dom
    assert 'data-resource="Deployment.apps/web"' in dom
    assert 'data-resource="Secret/web-token"' in dom
    assert "(cluster-scoped)" in dom and "3/3 replicas available" in dom
    assert "ApplyFailed" in dom and "Deployment web: forbidden" in dom
    assert ">Rollback</button>" in dom and ">Sync</button>" in dom
    assert f">{served.ids['fleet1']}</td>" in dom


def test_data_is_inserted_as_text_never_as_markup(served: ServedHub, tmp_path: Path) -> None:
    key = TargetKey("demo-prod", "prod")

    async def poison() -> None:
        status = await served.hub.store.get_status(key)
        assert status is not None
        when = datetime(2025, 1, 1, tzinfo=UTC)
        await served.hub.store.save_status(
            replace(status, conditions=(Condition("X", "Y", MARKUP, when),))
        )

    served.run(poison())
    dom = dump_dom(f"{served.url}/#/apps/demo-prod", tmp_path / "profile")
    assert '&lt;img id="injected"' in dom
    assert 'id="injected"' not in dom.replace('&lt;img id="injected"', "")
