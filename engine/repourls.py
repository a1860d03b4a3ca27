"""Repository URLs: normalisation (the identity of a repo), transports, credential stripping.

Pure string functions, shared by the Git client (``engine.source``), its poller and the
parsing of push webhooks (``engine.webhooks``). A repo is identified by its normalised URL:
lower-case scheme and host, no user information, no trailing ``/`` or ``.git``. scp-like
SSH addresses (``git@host:org/repo.git``) are rewritten as ``ssh://`` URLs and absolute
local paths as ``file://`` URLs, so that the two spellings of one remote share one mirror.

``check_transport`` decides which addresses git may be given at all: https, http, ssh and
git over the network; ``file://`` and local paths only where the operator allowed local
repositories (they read any repository on the hub's disk, other tenants' mirrors included);
never a remote helper (``ext::`` runs a command, ``fd::`` reads a descriptor), a relative
path, or a host or user that git could take for a command-line option.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from engine.errors import InvalidRepository
from engine.redaction import redact_url

_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/]+)@)?(?P<host>[^:/]+):(?P<path>(?!//).*)$")
_HTTP_SCHEMES = frozenset({"http", "https"})
NETWORK_SCHEMES = frozenset({"https", "http", "ssh", "git", "git+ssh", "ssh+git"})
_REMOTE_HELPER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+.-]*::")
_HOST = re.compile(r"^[A-Za-z0-9._:-]+$")  # names, IPv4, IPv6 (brackets already removed)
ALLOW_LOCAL_HINT = "set git.allowLocalRepos: true in fleetsync.yaml to allow them"


@dataclass(frozen=True)
class FetchUrl:
    """A URL as git is given it (no secret in it) and the user information removed from it."""

    url: str
    username: str | None = None
    password: str | None = None


def to_url(address: str) -> str:
    """Rewrite scp-like SSH addresses and absolute paths as URLs; leave URLs as they are."""
    address = address.strip()
    if "://" in address:
        return address
    if address.startswith("/"):
        return "file://" + quote(address)
    match = _SCP_LIKE.match(address)
    if match is None:
        raise ValueError(f"not a repository URL: {redact_url(address)!r}")
    user = f"{match['user']}@" if match["user"] else ""
    return f"ssh://{user}{match['host']}/{match['path'].lstrip('/')}"


def normalise_url(address: str) -> str:
    """The identity of a repository: scheme and host lower-cased, no user info, no ``.git``."""
    parts = urlsplit(to_url(address))
    host = (parts.hostname or "").lower()
    netloc = f"{host}:{parts.port}" if parts.port else host
    path = parts.path.rstrip("/")
    path = path.removesuffix(".git").rstrip("/")
    return urlunsplit((parts.scheme.lower(), netloc, path, "", ""))


def is_file_url(address: str) -> bool:
    """Whether the repository is read from the local filesystem (``file://`` or a path)."""
    return to_url(address).lower().startswith("file://")


def file_url_path(address: str) -> str:
    """The filesystem path of a ``file://`` repository."""
    return unquote(urlsplit(to_url(address)).path)


def split_credentials(address: str) -> FetchUrl:
    """Remove user information from a URL so that it can be passed to git in argv.

    For HTTP(S) the whole user information goes (a token is often written as the user
    name); for SSH the user name stays, since it is not a secret, and a password goes.
    """
    url = to_url(address)
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return FetchUrl(url)
    host = parts.hostname or ""
    hostport = f"{host}:{parts.port}" if parts.port else host
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    keep_user = parts.scheme.lower() not in _HTTP_SCHEMES and username
    netloc = f"{parts.username}@{hostport}" if keep_user else hostport
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return FetchUrl(clean, username=username, password=password)


def check_transport(address: str, *, allow_local: bool) -> None:
    """Refuse (``InvalidRepository``, the address redacted) an address that reads this
    machine's disk (unless allowed) or runs a helper."""
    problem = transport_problem(address, allow_local=allow_local)
    if problem is not None:
        raise InvalidRepository(problem, repo=redact_url(address))


def transport_problem(address: str, *, allow_local: bool) -> str | None:
    """Why git must not be given ``address``; None if it may."""
    address = address.strip()
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in address):
        return "control characters in a repository address"
    if _REMOTE_HELPER.match(address):
        return "remote helpers (<transport>::<address>) are not allowed"
    try:
        parts = urlsplit(to_url(address))
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return "not a repository URL (relative paths are not allowed)"
    scheme = parts.scheme.lower()
    if scheme == "file":
        return None if allow_local else (
            f"local repositories (file:// URLs and paths) are refused; {ALLOW_LOCAL_HINT}")
    if scheme not in NETWORK_SCHEMES:
        return f"scheme {scheme!r} is not supported (use https, http, ssh or git)"
    host = parts.hostname or ""
    if not _HOST.match(host) or host.startswith("-"):
        return f"{host!r} is not a host name git may be given"
    if (parts.username or "").startswith("-"):
        return "a user name starting with '-' could be read as an option"
    return None


__all__ = ["ALLOW_LOCAL_HINT", "NETWORK_SCHEMES", "FetchUrl", "check_transport",
           "file_url_path", "is_file_url", "normalise_url", "split_credentials", "to_url",
           "transport_problem"]
