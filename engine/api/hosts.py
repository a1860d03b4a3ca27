"""Which ``Host`` and ``Origin`` a request may name: the defence against DNS rebinding (pure).

A web page on ``http://evil.example:8080`` can make its own name resolve to 127.0.0.1
and then talk to a hub on loopback as if it were its own origin: the browser sends
``Host: evil.example:8080`` and ``Origin: http://evil.example:8080``, so an Origin check
alone passes. The Host header is what gives it away: the hub answers only to IP literals
(a page on an IP literal origin is served by the hub itself, there is no name to rebind),
``localhost``, and the names the operator lists (the listen host, ``server.allowedHosts``).
The port is not checked: a proxy in front may use another one.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

_PORT = re.compile(r"\d{1,5}")
_NAME = re.compile(r"[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?")


@dataclass(frozen=True)
class AllowedHosts:
    """The host names a request may name, besides IP literals and ``localhost``."""

    names: frozenset[str] = frozenset()

    @classmethod
    def of(cls, names: Iterable[str]) -> AllowedHosts:
        """From configured names (any case, a trailing dot, ``[::1]`` brackets allowed)."""
        normal = {_normal(n.strip().removeprefix("[").removesuffix("]")) for n in names}
        return cls(frozenset(n for n in normal if n))

    def allows_host(self, header: str | None) -> bool:
        """Whether a ``Host`` header value (``name[:port]``, ``[v6][:port]``) is this hub."""
        host = host_of(header) if header is not None else None
        return host is not None and self.allows_name(host)

    def allows_name(self, host: str) -> bool:
        """Whether a host (from ``host_of``) is an IP literal, localhost or a listed name."""
        return _is_ip(host) or host == "localhost" or host in self.names

    def allows_origin(self, origin: str, host_header: str | None) -> bool:
        """Whether an ``Origin`` is this server: same host and port as ``Host``, and allowed."""
        try:
            parts = urlsplit(origin)
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or host_header is None:
            return False
        if parts.netloc.lower() != host_header.strip().lower():
            return False
        host = host_of(parts.netloc)
        return host is not None and self.allows_name(host)


def host_of(value: str) -> str | None:
    """The host of ``name[:port]`` or ``[v6][:port]``, lower case, no trailing dot; None
    when the value is not one (user info, a path, an unbracketed IPv6 address, ...)."""
    value = value.strip()
    if value.startswith("["):
        host, bracket, rest = value[1:].partition("]")
        if not bracket or not _port_ok(rest) or not _is_ip(host):
            return None
        return host.lower()
    host, colon, port = value.partition(":")
    if colon and not _PORT.fullmatch(port):
        return None
    host = _normal(host)
    return host if _NAME.fullmatch(host) else None


def _port_ok(rest: str) -> bool:
    return rest == "" or (rest.startswith(":") and _PORT.fullmatch(rest[1:]) is not None)


def _normal(name: str) -> str:
    return name.lower().removesuffix(".")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
