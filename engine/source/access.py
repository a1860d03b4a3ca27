"""Who may read a mirror: one mirror per repository *and* credential that fills it (pure).

A mirror holds whatever the credential that filled it could read. Keyed by URL alone, an
app with no credential would read a private repository through another app's token, or,
by filling the mirror first, lock the owner out. So a mirror, the commit trees written
from it and the poller's state are keyed by the *access*: the normalised URL plus the
identity of the credential git is given for it:

- ``anonymous``: none;
- ``operator:<prefix>``: the operator's ``CredentialStore`` entry that covers the URL (the
  key stays when the operator rotates that entry's secret);
- ``url:<hmac>``: user and password written in the URL itself, as an HMAC under a random
  per-hub salt, so that the key reveals nothing of the secret and allows no guessing of it
  without the salt.

The key is an HMAC of both under the hub's salt: it names directories and may be shown,
holds no secret, and cannot be predicted from outside (a hostile tree cannot aim at the
path of a mirror, as a second line behind the tree writer's own guards).
Two apps that present the same credential for one repository share one mirror, so each
repository is still fetched once per poll for all of them.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from engine.repourls import normalise_url, split_credentials
from engine.source.credentials import Credentials, CredentialStore

_LAYOUT = "fleetsync-mirror-2"  # mirrors keyed by URL alone (layout 1) are never reused


@dataclass(frozen=True)
class Access:
    """How one repository address is read: its key, the URL git gets, the credentials."""

    key: str
    fetch_url: str
    credentials: Credentials | None


def access_of(repo: str, store: CredentialStore, *, salt: bytes) -> Access:
    """The access ``repo`` gets: credentials from its URL, else the operator's, else none.

    Raises ``ValueError`` for an address that is not a repository URL.
    """
    fetch = split_credentials(repo)
    found = store.match(repo)
    credentials: Credentials | None
    if fetch.password is not None or (fetch.username and found is None):
        credentials = Credentials(username=fetch.username, password=fetch.password)
        secret = f"{fetch.username or ''}\0{fetch.password or ''}".encode()
        identity = "url:" + hmac.new(salt, secret, hashlib.sha256).hexdigest()
    elif found is not None:
        prefix, credentials = found
        identity = "operator:" + prefix
    else:
        credentials, identity = None, "anonymous"
    material = f"{_LAYOUT}\0{normalise_url(repo)}\0{identity}".encode()
    key = hmac.new(salt, material, hashlib.sha256).hexdigest()[:32]
    return Access(key, fetch.url, credentials)
