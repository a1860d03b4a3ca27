"""Repository URLs: normalisation (the identity of a repo), credential stripping, redaction.

Pure string functions. A repo is identified by its normalised URL: lower-case scheme and
host, no user information, no trailing ``/`` or ``.git``. scp-like SSH addresses
(``git@host:org/repo.git``) are rewritten as ``ssh://`` URLs and absolute local paths as
``file://`` URLs, so that the two spellings of one remote share one mirror.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from engine.redaction import REDACTED, redact, redact_url

_SCP_LIKE = re.compile(r"^(?:(?P<user>[^@/]+)@)?(?P<host>[^:/]+):(?P<path>(?!//).*)$")
_HTTP_SCHEMES = frozenset({"http", "https"})


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


def mirror_name(address: str) -> str:
    """The directory name of a repository's mirror: a hash of its normalised URL."""
    digest = hashlib.sha256(normalise_url(address).encode()).hexdigest()
    return f"{digest[:32]}.git"


__all__ = ["REDACTED", "FetchUrl", "file_url_path", "is_file_url", "mirror_name",
           "normalise_url", "redact", "redact_url", "split_credentials", "to_url"]
