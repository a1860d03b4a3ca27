"""Password hashing (argon2id, by argon2-cffi) and new random secrets.

A login checks the password against the stored hash; an unknown account is checked
against a fixed dummy hash, so it costs the same time as a wrong password and the answer
cannot tell the two apart. Passwords are at most ``MAX_PASSWORD`` bytes (a hash of a
megabyte-long password is a cheap way to burn the hub's CPU).
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MAX_PASSWORD = 256
MIN_PASSWORD = 8
# argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): the library's default
# (RFC 9106's 64 MiB, 3 passes, 4 lanes) makes every login a 64 MiB peak in a hub whose
# whole fleet of 3,000 targets fits in 200 MB.
HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY = HASHER.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` (salted) to store."""
    return HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (None: an unknown account, always False,
    in the same time as a wrong password)."""
    if len(password.encode()) > MAX_PASSWORD:
        return False
    try:
        return HASHER.verify(stored or _DUMMY, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    """Why ``password`` may not be set, or None."""
    if len(password) < MIN_PASSWORD:
        return f"a password has at least {MIN_PASSWORD} characters"
    if len(password.encode()) > MAX_PASSWORD:
        return f"a password has at most {MAX_PASSWORD} bytes"
    return None


def new_password() -> str:
    """A random password for a new account (the initial admin's): 24 URL-safe characters."""
    return secrets.token_urlsafe(18)
