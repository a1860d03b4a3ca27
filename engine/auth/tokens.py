"""Signed tokens: sessions of people who logged in and API tokens of automation accounts.

A token is a JWT signed with HMAC-SHA256 (PyJWT) under the hub's key, a random 32-byte
secret kept in the data directory. It names the account (``sub``), a random id (``jti``)
to revoke it by, its kind (``session`` or ``api``), the account's token generation
(``gen``: a password change or "log out everywhere" moves it on, ending every session made
before), and its expiry. Verification accepts only HS256 (an ``alg: none`` or RS256 token
is refused), requires every one of those claims, and refuses a token longer than
``MAX_TOKEN`` characters before decoding it.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import jwt

ISSUER = "fleetsync"
ALGORITHM = "HS256"
MAX_TOKEN = 4096
SESSION = "session"
API = "api"
_REQUIRED = ["exp", "iat", "sub", "jti", "iss"]


class BadToken(Exception):
    """A token that is not valid: its message says why (for the log, never the client)."""


@dataclass(frozen=True)
class Claims:
    """What a valid token says."""

    account: str
    token_id: str
    kind: str
    generation: int
    issued_at: int
    expires_at: int


def issue(key: bytes, *, account: str, kind: str, generation: int, now: int,
          lifetime: int) -> tuple[str, Claims]:  # fmt: skip
    """A new token of ``kind`` for ``account``, valid ``lifetime`` seconds from ``now``."""
    claims = Claims(account, secrets.token_urlsafe(16), kind, generation, now, now + lifetime)
    payload = {"iss": ISSUER, "sub": account, "jti": claims.token_id, "kind": kind,
               "gen": generation, "iat": now, "exp": claims.expires_at}
    return jwt.encode(payload, key, algorithm=ALGORITHM), claims


def verify(key: bytes, token: str, *, now: int) -> Claims:
    """The claims of ``token`` if it is ours, untampered and unexpired; else ``BadToken``."""
    if len(token) > MAX_TOKEN:
        raise BadToken("token too long")
    try:
        # Times are checked here against the hub's clock, not PyJWT's.
        payload = jwt.decode(token, key, algorithms=[ALGORITHM], issuer=ISSUER,
                             options={"require": _REQUIRED, "verify_exp": False,
                                      "verify_iat": False})
        if not int(payload["iat"]) <= now < int(payload["exp"]):
            raise BadToken("token expired or not yet valid")
        return Claims(str(payload["sub"]), str(payload["jti"]), str(payload.get("kind")),
                      int(payload.get("gen", -1)), int(payload["iat"]), int(payload["exp"]))
    except jwt.PyJWTError as err:
        raise BadToken(str(err)) from None
    except (KeyError, TypeError, ValueError) as err:
        raise BadToken(f"malformed claims: {err}") from None


def load_key(path: Path) -> bytes:
    """The signing key at ``path``, created (32 random bytes, mode 0600) when missing."""
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = secrets.token_bytes(32)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return path.read_bytes()
        with os.fdopen(fd, "wb") as out:
            out.write(key)
    if len(key) < 32:
        raise ValueError(f"{path}: the signing key is shorter than 32 bytes")
    return key
