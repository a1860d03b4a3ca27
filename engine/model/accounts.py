"""What the store keeps of accounts: password hashes, token generations, API tokens."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AccountSecret:
    """An account's stored secret: its password hash (None: no password set) and the
    generation its tokens must carry."""

    name: str
    password_hash: str | None
    generation: int


@dataclass(frozen=True)
class ApiToken:
    """An API token as listed: never the token itself, only its id and dates (epoch s)."""

    id: str
    account: str
    description: str
    issued_at: int
    expires_at: int
