"""The dashboard in Debian's headless Chromium against the real server on loopback.

Chromium is driven over the DevTools protocol (``tests.support.browser``): the tests log in
through the page's form as a user would, navigate, and read the DOM the page's
JavaScript built; screenshots go to the test's directory.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from engine.model import HealthStatus, ResourceKey, TargetKey
from engine.model.status import Condition
from tests.integration.api.hub import ServedHub
from tests.support.browser import CHROMIUM, Browser, log_in, page

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)",
)
MARKUP = '<img id="injected" src="x">'
PASSWORD = "a long enough password"


@pytest.fixture
async def browser(served: ServedHub, tmp_path: Path) -> AsyncIterator[Browser]:
    """A browser logged in to ``served`` as the admin."""
    async with Browser.start(tmp_path / "profile") as started:
        password = served.hub.auth.initial_password_file.read_text().strip()
        await log_in(started, served.url, "admin", password)
        yield started


@pytest.fixture
def served(tmp_path: Path) -> Iterator[ServedHub]:
    with ServedHub(tmp_path) as served:
        yield served


async def test_app_list_shows_apps_and_their_statuses(served: ServedHub, browser: Browser,
                                                      tmp_path: Path) -> None:  # fmt: skip
    dom = await page(browser, f"{served.url}/#/", "document.querySelector('[data-app=broken]')")
    await browser.screenshot(tmp_path / "apps.png")
    for name in ("demo-dev", "demo-prod", "fleet", "broken"):
        assert f'data-app="{name}"' in dom, name
    assert 'class="badge sync-Synced"' in dom and 'class="badge health-Healthy"' in dom
    assert 'class="badge sync-OutOfSync"' in dom and 'class="badge health-Degraded"' in dom
    assert "no registered cluster is named" in dom
    assert "Loading…" not in dom
    assert "Problems in the app sources" in dom and "invalid YAML" in dom
    assert '&lt;img id="injected" src="x"&gt;.yaml' in dom  # the broken file's name, as text
    assert 'id="injected"' not in dom.replace('&lt;img id="injected"', "")


async def test_app_page_shows_resource_tree_operation_and_history(
    served: ServedHub, browser: Browser
) -> None:
    dom = await page(browser, f"{served.url}/#/apps/fleet",
                     "document.querySelector('table.history')")
    assert 'data-app="fleet"' in dom
    assert 'data-resource="Deployment.apps/web"' in dom
    assert 'data-resource="Secret/web-token"' in dom
    assert "(cluster-scoped)" in dom and "3/3 replicas available" in dom
    assert "ApplyFailed" in dom and "Deployment web: forbidden" in dom
    assert ">Rollback</button>" in dom and ">Sync</button>" in dom
    assert f">{served.ids['fleet1']}</td>" in dom


async def test_data_is_inserted_as_text_never_as_markup(served: ServedHub,
                                                        browser: Browser) -> None:
    key = TargetKey("demo-prod", "prod")

    async def poison() -> None:
        status = await served.hub.store.get_status(key)
        assert status is not None
        when = datetime(2025, 1, 1, tzinfo=UTC)
        await served.hub.store.save_status(
            replace(status, conditions=(Condition("X", "Y", MARKUP, when),))
        )

    served.run(poison())
    dom = await page(browser, f"{served.url}/#/apps/demo-prod",
                     "document.querySelector('ul.conditions')")
    assert '&lt;img id="injected"' in dom
    assert 'id="injected"' not in dom.replace('&lt;img id="injected"', "")


async def test_without_a_session_the_page_shows_only_the_login_form(
    served: ServedHub, tmp_path: Path
) -> None:
    async with Browser.start(tmp_path / "profile") as browser:
        dom = await page(browser, f"{served.url}/#/apps/fleet", "document.querySelector('#login')")
        assert "demo-dev" not in dom and "fleet" not in dom.split("<main", 1)[1]
        await browser.evaluate(
            "(() => { const f = document.querySelector('#login'); f.username.value = 'admin';"
            " f.password.value = 'not the password'; f.requestSubmit(); })()")
        await browser.wait_for("document.querySelector('#login-error').textContent !== ''")
        assert "invalid username or password" in await browser.dom()
        await browser.screenshot(tmp_path / "login.png")


async def test_an_account_sees_only_its_apps_and_logs_out(
    served: ServedHub, tmp_path: Path
) -> None:
    served.run(served.hub.auth.set_password("alice", PASSWORD, current=None))
    async with Browser.start(tmp_path / "profile") as browser:
        await log_in(browser, served.url, "alice", PASSWORD)
        dom = await page(browser, f"{served.url}/#/", "document.querySelector('[data-app]')")
        assert 'data-app="demo-dev"' in dom and 'data-app="demo-prod"' in dom
        assert 'data-app="fleet"' not in dom and 'data-app="broken"' not in dom
        assert "Problems in the app sources" not in dom
        dom = await page(browser, f"{served.url}/#/apps/fleet",
                         "document.querySelector('#updated').textContent.includes('no app')")
        assert 'data-resource=' not in dom
        await browser.evaluate("document.querySelector('#logout').click()")
        await browser.wait_for("document.querySelector('#login')", what="the form again")
        status = await browser.evaluate(
            "fetch('/api/v1/apps').then((r) => r.status)")
        assert status == 401


async def test_a_status_change_appears_without_reloading(served: ServedHub,
                                                         browser: Browser) -> None:
    key = TargetKey("demo-dev", "dev")
    suspended = "document.querySelector('section[data-cluster=\"dev\"] .badge.health-Suspended')"
    await page(browser, f"{served.url}/#/apps/demo-dev",
               "document.querySelector('h1[data-app=\"demo-dev\"]')")
    assert not await browser.evaluate(suspended)

    async def suspend() -> None:  # as a reconcile writes it, through the status writer
        async with served.hub.statuses.session(key) as record:
            assert record.previous is not None
            await record.save(replace(record.previous, health=HealthStatus.SUSPENDED))

    served.run(suspend())
    await browser.wait_for(suspended, within=5, what="the new health, pushed (no 30 s poll)")


async def test_overview_filters_search_and_the_fleet_matrix(served: ServedHub, browser: Browser,
                                                           tmp_path: Path) -> None:  # fmt: skip
    dom = await page(browser, f"{served.url}/#/", "document.querySelector('#overview')")
    overview = dom.split('id="overview"', 1)[1].split("</section>", 1)[0]
    assert "4 apps" in overview and "Needs attention" in overview
    assert "fleet</a> @ prod" in overview and "health Degraded" in overview
    rows = "[...document.querySelectorAll('table.apps tr[data-app]')].map(r => r.dataset.app)"

    async def choose(control: str, value: str, event: str = "change") -> None:
        await browser.evaluate(
            f"(() => {{ const c = document.querySelector('#filter-{control}'); c.focus(); "
            f"c.value = {value!r}; c.dispatchEvent(new Event({event!r})); }})()")

    await choose("health", "Degraded")
    await browser.wait_for("document.querySelector('#shown').textContent.startsWith('1 of')")
    assert await browser.evaluate(rows) == ["fleet"]
    await choose("health", "")
    await choose("q", "demo-", "input")  # the names; every repository URL has "demo"
    await browser.wait_for("document.querySelector('#shown').textContent.startsWith('2 of')")
    assert await browser.evaluate(rows) == ["demo-dev", "demo-prod"]
    assert await browser.evaluate("document.activeElement.id") == "filter-q"  # still typing
    await choose("q", "", "input")
    await choose("label", "team=demo, tier", "input")
    await browser.wait_for("document.querySelector('#shown').textContent.startsWith('1 of')")
    assert await browser.evaluate(rows) == ["demo-dev"]
    await choose("label", "", "input")

    dom = await page(browser, f"{served.url}/#/matrix", "document.querySelector('table.matrix')")
    await browser.screenshot(tmp_path / "matrix.png")
    cell = dom.split('data-cell="fleet@prod"', 1)[1].split("</td>", 1)[0]
    assert "sync-OutOfSync" in cell and "health-Degraded" in cell and "c" * 10 in cell
    assert 'data-cell="demo-dev@dev"' in dom and 'data-cell="demo-dev@prod"' not in dom


async def test_selected_resources_are_synced_alone(served: ServedHub, browser: Browser) -> None:
    box = ("document.querySelector('section[data-cluster=\"dev\"] "
           "li[data-resource=\"Service/web\"] input.select')")
    await page(browser, f"{served.url}/#/apps/demo-dev", box)
    await browser.evaluate(f"{box}.click()")
    button = "document.querySelector('section[data-cluster=\"dev\"] button.sync-selected')"
    await browser.wait_for(f"{button} && {button}.textContent === 'Sync 1 selected'")
    await browser.evaluate(f"{button}.click()")
    await browser.wait_for("document.querySelector('#flash').textContent.includes('queued')")
    request = served.hub.runtime.pending(TargetKey("demo-dev", "dev"))
    assert request is not None
    assert request.resources == frozenset({ResourceKey("", "Service", "dev", "web")})
    assert request.trigger == "manual:admin"
