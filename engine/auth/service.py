"""Logins, sessions and API tokens of the accounts ``fleetsync.yaml`` declares.

``Authenticator`` checks passwords (argon2id, at most ``HASHES_AT_ONCE`` at a time, in a
thread: each costs 19 MiB and a good part of a core for a moment), issues signed tokens
(``engine.auth.tokens``) and turns a presented token back into a ``Principal``: the
account and the RBAC subjects it holds. A token is refused when it is not ours, expired,
of an account no longer declared or no longer allowed that kind of token, of an earlier
token generation (password changed, "log out everywhere"), a session ended by logout,
or an API token revoked.

Failed logins are counted per account and per client address in the store (a restart
keeps them): after ``login_failures`` failures within ``login_window``, logins of that
account or from that address are refused until the window has passed, whether the
password is right or not. An unknown account is answered exactly like a wrong password,
counted the same way, and checked against a dummy hash so it takes as long.

On first start the admin account gets a random password, stored hashed and written once
to ``<dataDir>/initial-admin-password`` (mode 0600) for the operator to read; the file is
removed when the admin sets a password of its own (Argo CD's initial admin secret).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.auth import passwords, tokens
from engine.config.auth import API_KEY, LOGIN, AuthConfig
from engine.model.accounts import ApiToken
from engine.rbac import ADMIN_ACCOUNT
from engine.store.store import AccountStore

HASHES_AT_ONCE = 2
INITIAL_PASSWORD_FILE = "initial-admin-password"
KEY_FILE = "auth/session.key"
SIGNING_KEY = "session-signing"  # its name in the store
MAX_API_TOKEN_SECONDS = 10 * 365 * 24 * 3600
INVALID = "invalid username or password"


class LoginRefused(Exception):
    """A login that did not succeed: the message is safe to show (it never says whether
    the account exists); ``retry_after`` is set when too many logins failed."""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class AccountError(Exception):
    """A request about an account that cannot be done (the message says why)."""


@dataclass(frozen=True)
class Principal:
    """Who a request comes from: the account, its groups, and its RBAC subjects."""

    name: str
    subjects: frozenset[str]
    token: tokens.Claims
    groups: tuple[str, ...] = ()


class Authenticator:
    """Passwords, sessions and API tokens over an ``AccountStore``."""

    def __init__(self, *, config: AuthConfig, store: AccountStore, key: bytes,
                 data_dir: Path, clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.config = config
        self._store = store
        self._key = key
        self._data_dir = data_dir
        self._clock = clock
        self._hashing = asyncio.Semaphore(HASHES_AT_ONCE)
        self.policy = config.policy  # with the AppProjects' roles once the hub read them

    @classmethod
    async def open(cls, *, config: AuthConfig, store: AccountStore,
                   data_dir: Path) -> Authenticator:  # fmt: skip
        """An authenticator signing with the key the store keeps, shared by every replica
        on the store: the first hub's key file in ``data_dir`` (made at its first start)."""
        candidate = tokens.load_key(data_dir / KEY_FILE)
        key = await store.shared_key(SIGNING_KEY, candidate)
        return cls(config=config, store=store, key=key, data_dir=data_dir)

    def use_project_roles(self, lines: list[str]) -> None:
        """Evaluate the configured policy together with these AppProject role lines
        (checked by ``engine.apps`` to stay within their projects)."""
        self.policy = self.config.policy.extended("\n".join(lines), where="AppProject roles")

    @property
    def store(self) -> AccountStore:
        """Where account secrets and API tokens are kept."""
        return self._store

    @property
    def initial_password_file(self) -> Path:
        """Where the admin's generated first password is written."""
        return self._data_dir / INITIAL_PASSWORD_FILE

    async def ensure_admin(self) -> bool:
        """Give the admin account a random password if it never had one; whether it did
        now (the password is then in ``initial_password_file``)."""
        if not self.config.can(ADMIN_ACCOUNT, LOGIN):
            return False
        password = passwords.new_password()
        hashed = await self._hash(password)
        if not await self._store.set_password(ADMIN_ACCOUNT, hashed, only_if_new=True):
            return False
        _write_private(self.initial_password_file, password + "\n")
        return True

    async def login(self, name: str, password: str, *, address: str) -> tuple[str, int]:
        """A session token for ``name`` and when it expires; ``LoginRefused`` otherwise."""
        now = int(self._clock())
        keys = [f"account:{name[:128]}", f"address:{address}"]
        window = self.config.login_window
        if await self._store.login_failures(keys, now - window) >= self.config.login_failures:
            raise LoginRefused("too many failed logins; try again later", retry_after=window)
        secret = await self._store.get(name) if self.config.can(name, LOGIN) else None
        stored = secret.password_hash if secret is not None else None
        async with self._hashing:
            good = await asyncio.to_thread(passwords.verify_password, stored, password)
        if not good or secret is None:
            await self._store.note_login_failure(keys, now, window)
            raise LoginRefused(INVALID)
        await self._store.clear_login_failures(keys)
        token, claims = tokens.issue(self._key, account=name, kind=tokens.SESSION,
                                     generation=secret.generation, now=now,
                                     lifetime=self.config.session_seconds)
        return token, claims.expires_at

    async def authenticate(self, token: str) -> Principal | None:
        """The principal ``token`` stands for, or None when it must be refused."""
        try:
            claims = tokens.verify(self._key, token, now=int(self._clock()))
        except tokens.BadToken:
            return None
        if claims.kind == tokens.SESSION:
            if not self.config.can(claims.account, LOGIN):
                return None
            secret = await self._store.get(claims.account)
            if secret is None or secret.generation != claims.generation:
                return None
            if await self._store.session_ended(claims.token_id):
                return None
        elif claims.kind == tokens.API:
            if not self.config.can(claims.account, API_KEY):
                return None
            if not await self._store.api_token_exists(claims.token_id, claims.account):
                return None
        else:
            return None
        subjects = self.policy.subjects(claims.account)
        return Principal(claims.account, subjects, claims)

    async def logout(self, principal: Principal) -> None:
        """End the session ``principal`` came with (an API token is revoked instead)."""
        claims = principal.token
        if claims.kind == tokens.API:
            await self._store.delete_api_token(claims.token_id, claims.account)
        else:
            await self._store.end_session(claims.token_id, claims.expires_at,
                                          int(self._clock()))

    async def set_password(self, name: str, new: str, *, current: str | None) -> None:
        """Set ``name``'s password (``current`` must match unless None: an admin's reset);
        every session of ``name`` ends."""
        if not self.config.can(name, LOGIN):
            raise AccountError(f"account {name!r} does not exist or cannot log in")
        problem = passwords.password_problem(new)
        if problem:
            raise AccountError(problem)
        if current is not None:
            secret = await self._store.get(name)
            async with self._hashing:
                good = await asyncio.to_thread(passwords.verify_password,
                                               secret.password_hash if secret else None,
                                               current)  # fmt: skip
            if not good:
                raise AccountError("the current password is wrong")
        await self._store.set_password(name, await self._hash(new))
        if name == ADMIN_ACCOUNT:
            with contextlib.suppress(FileNotFoundError):
                self.initial_password_file.unlink()

    async def create_api_token(self, name: str, *, description: str,
                               lifetime: int) -> tuple[str, ApiToken]:  # fmt: skip
        """A new API token of automation account ``name``, valid ``lifetime`` seconds."""
        if not self.config.can(name, API_KEY):
            raise AccountError(f"account {name!r} does not exist or has no apiKey capability")
        if not 0 < lifetime <= MAX_API_TOKEN_SECONDS:
            raise AccountError(f"a token lives 1 s to {MAX_API_TOKEN_SECONDS // 86400} days")
        now = int(self._clock())
        token, claims = tokens.issue(self._key, account=name, kind=tokens.API, generation=0,
                                     now=now, lifetime=lifetime)
        record = ApiToken(claims.token_id, name, description[:200], now, claims.expires_at)
        await self._store.add_api_token(record)
        return token, record

    async def _hash(self, password: str) -> str:
        async with self._hashing:
            return await asyncio.to_thread(passwords.hash_password, password)


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
