"""Logging in to a test hub: the admin's token, from the first password the hub wrote."""

from __future__ import annotations

from pathlib import Path

from engine.auth.service import Authenticator
from engine.config.auth import AuthConfig
from engine.hub.hub import Hub
from engine.store import Store


async def admin_token(hub: Hub) -> str:
    """A session token of the admin account of ``hub`` (opened, with its first password)."""
    password = hub.auth.initial_password_file.read_text().strip()
    token, _ = await hub.auth.login("admin", password, address="test")
    return token


def bearer(token: str) -> dict[str, str]:
    """The header that presents ``token``."""
    return {"Authorization": f"Bearer {token}"}


async def store_authenticator(store: Store, data_dir: Path,
                              config: AuthConfig | None = None) -> tuple[Authenticator, str]:
    """An authenticator over ``store`` (the admin account set up) and an admin token."""
    auth = await Authenticator.open(config=config or AuthConfig(), store=store.accounts,
                              data_dir=data_dir)  # fmt: skip
    await auth.ensure_admin()
    password = auth.initial_password_file.read_text().strip()
    token, _ = await auth.login("admin", password, address="test")
    return auth, token
