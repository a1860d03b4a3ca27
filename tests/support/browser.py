"""Debian's headless Chromium, driven over the DevTools protocol (a WebSocket on loopback).

    async with Browser.start(profile_dir) as browser:
        await browser.goto(url)
        await browser.wait_for("document.querySelector('#login') !== null")
        await browser.evaluate("...")            # the page's own JavaScript, as a user acts
        html = await browser.dom()
        await browser.screenshot(path)

Only what the dashboard tests need: one page, navigation, JavaScript evaluation and
screenshots. Chromium picks a free port and writes it to ``DevToolsActivePort`` in its
profile directory; the process is killed on exit.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM = Path("/usr/bin/chromium")
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--window-size=1280,900", "--remote-debugging-port=0")  # fmt: skip


class BrowserError(Exception):
    """The browser did not do what was asked (the message says what)."""


class Browser:
    """One Chromium page under remote control."""

    def __init__(self, session: aiohttp.ClientSession, socket: aiohttp.ClientWebSocketResponse,
                 ) -> None:  # fmt: skip
        self._session, self._socket = session, socket
        self._ids = itertools.count(1)

    @classmethod
    @contextlib.asynccontextmanager
    async def start(cls, profile: Path, *, within: float = 30.0) -> AsyncIterator[Browser]:
        """A fresh Chromium with its profile in ``profile``, and its first page."""
        await asyncio.to_thread(profile.mkdir, parents=True, exist_ok=True)
        process = await asyncio.create_subprocess_exec(
            str(CHROMIUM), *_FLAGS, f"--user-data-dir={profile}", "about:blank",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True)
        try:
            port = await _port(profile / "DevToolsActivePort", process, within)
            async with aiohttp.ClientSession() as session:
                async with session.get(f"http://127.0.0.1:{port}/json/list") as response:
                    pages = [t for t in await response.json() if t.get("type") == "page"]
                if not pages:
                    raise BrowserError("Chromium opened no page")
                async with session.ws_connect(pages[0]["webSocketDebuggerUrl"],
                                              max_msg_size=64 * 1024 * 1024) as socket:
                    browser = cls(session, socket)
                    await browser.call("Page.enable")
                    yield browser
        finally:
            process.kill()
            await process.wait()

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one DevTools command and return its result (events are skipped)."""
        ident = next(self._ids)
        await self._socket.send_json({"id": ident, "method": method, "params": params})
        async with asyncio.timeout(60):
            while True:
                message = await self._socket.receive()
                if message.type != aiohttp.WSMsgType.TEXT:
                    raise BrowserError(f"DevTools connection ended ({message.type})")
                data = json.loads(message.data)
                if data.get("id") == ident:
                    if "error" in data:
                        raise BrowserError(f"{method}: {data['error']}")
                    result: dict[str, Any] = data.get("result", {})
                    return result

    async def goto(self, url: str) -> None:
        """Load ``url`` in the page."""
        await self.call("Page.navigate", url=url)

    async def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        found = await self.call("Runtime.evaluate", expression=expression, awaitPromise=True,
                                returnByValue=True)
        if "exceptionDetails" in found:
            raise BrowserError(f"{expression[:80]}: {found['exceptionDetails']}")
        return found.get("result", {}).get("value")

    async def wait_for(self, condition: str, *, within: float = 15.0, what: str = "") -> None:
        """Wait until the JavaScript ``condition`` is true in the page."""
        deadline = time.monotonic() + within
        while True:
            with contextlib.suppress(BrowserError):
                if await self.evaluate(f"Boolean({condition})"):
                    return
            if time.monotonic() > deadline:
                raise BrowserError(f"not within {within:g} s: {what or condition}")
            await asyncio.sleep(0.1)

    async def dom(self) -> str:
        """The page's DOM as HTML now."""
        html: str = await self.evaluate("document.documentElement.outerHTML")
        return html

    async def screenshot(self, path: Path) -> None:
        """A PNG of the page as it is shown now."""
        found = await self.call("Page.captureScreenshot", format="png")
        await asyncio.to_thread(_write, path, base64.b64decode(found["data"]))


async def log_in(browser: Browser, url: str, name: str, password: str) -> None:
    """Open the dashboard at ``url`` and log in through its form."""
    await browser.goto(f"{url}/")
    await browser.wait_for("document.querySelector('#login')", what="the login form")
    await browser.evaluate(
        "(() => { const f = document.querySelector('#login');"
        f" f.username.value = {name!r}; f.password.value = {password!r};"
        " f.requestSubmit(); })()")
    await browser.wait_for("document.querySelector('#logout')", what="logged in")


async def page(browser: Browser, url: str, ready: str) -> str:
    """The DOM of ``url`` once the JavaScript condition ``ready`` holds."""
    await browser.goto(url)
    await browser.wait_for(ready, what=ready)
    return await browser.dom()


async def _port(file: Path, process: asyncio.subprocess.Process, within: float) -> int:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.returncode is not None:
            raise BrowserError(f"Chromium exited with {process.returncode}")
        with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
            text = await asyncio.to_thread(file.read_text)
            return int(text.splitlines()[0])
        await asyncio.sleep(0.05)
    raise BrowserError("Chromium did not open its DevTools port")


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
