"""Class 10, browser attacks on a loopback hub: which Host and Origin the hub answers to.

A page on ``http://evil.example:8080`` whose name is rebound to 127.0.0.1 sends
``Host: evil.example:8080``; the hub answers only to IP literals, ``localhost`` and the
names it is told (``engine.api.hosts``). The HTTP side is proven in
tests/integration/security/test_dns_rebinding_http.py.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from engine.api.hosts import AllowedHosts, host_of

HOSTS = AllowedHosts.of(["Hub.Example.", "[::1]"])


@pytest.mark.parametrize(
    "header",
    [
        "127.0.0.1:8080",
        "127.0.0.1",
        "10.1.2.3:80",
        "[::1]:8080",
        "[::1]",
        "[fe80::1]:8080",
        "localhost:8080",
        "LOCALHOST",
        "localhost.:8080",
        "hub.example:8080",
        "HUB.example.",
    ],
)
def test_dns_rebinding_ip_literals_localhost_and_configured_names_are_allowed(
    header: str,
) -> None:
    assert HOSTS.allows_host(header)


@pytest.mark.parametrize(
    "header",
    [
        "evil.example:8080",
        "evil.example",
        "localhost.evil.example",
        "127.0.0.1.evil.example:8080",
        "hub.example.evil.example",
        "127.1:8080",  # not an IP literal as the hub reads it; browsers never send it
        "::1",  # an IPv6 literal must be bracketed
        "[::1",
        "[evil.example]:8080",
        "[::1]:80:80",
        "localhost:80:80",
        "localhost:http",
        "user@localhost:8080",
        "localhost/x",
        "localhost evil.example",
        "",
        ":8080",
    ],
)
def test_dns_rebinding_other_names_and_malformed_hosts_are_refused(header: str) -> None:
    assert not HOSTS.allows_host(header)


def test_dns_rebinding_a_missing_host_is_refused() -> None:
    assert not HOSTS.allows_host(None)


def test_dns_rebinding_no_name_is_allowed_by_default() -> None:
    default = AllowedHosts.of(())
    assert default.allows_host("127.0.0.1:8080") and default.allows_host("localhost:8080")
    assert not default.allows_host("hub.example:8080")


def test_dns_rebinding_host_of_normalises_case_and_trailing_dot() -> None:
    assert host_of("Hub.Example.:8080") == "hub.example"
    assert host_of("[::1]:8080") == "::1"
    assert host_of("[::1]x") is None


@pytest.mark.parametrize(
    ("origin", "host", "allowed"),
    [
        ("http://127.0.0.1:8080", "127.0.0.1:8080", True),
        ("http://localhost:8080", "localhost:8080", True),
        ("https://hub.example", "hub.example", True),
        ("http://[::1]:8080", "[::1]:8080", True),
        # Host spoofed equal to a rebound Origin: the name itself is not allowed.
        ("http://evil.example:8080", "evil.example:8080", False),
        ("http://evil.example:8080", "127.0.0.1:8080", False),
        ("http://127.0.0.1:9999", "127.0.0.1:8080", False),
        ("null", "127.0.0.1:8080", False),
        ("file://", "127.0.0.1:8080", False),
        ("http://127.0.0.1:8080", None, False),
        ("http://[::1", "[::1]:8080", False),
    ],
)
def test_dns_rebinding_origin_must_be_this_server_and_allowed(
    origin: str, host: str | None, allowed: bool
) -> None:
    assert HOSTS.allows_origin(origin, host) is allowed


def test_dns_rebinding_host_check_is_pure() -> None:
    code = "import sys, engine.api.hosts\nprint('aiohttp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
