"""Logins and tokens over a real store: the admin's first password, the same answer for
unknown accounts and wrong passwords, failed logins limited across a restart, and every
way a token stops being accepted."""

from __future__ import annotations

import stat
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from engine.auth.service import INVALID, AccountError, Authenticator, LoginRefused
from engine.config.auth import API_KEY, LOGIN, AuthConfig
from engine.rbac import Policy
from engine.store import Store

ACCOUNTS = {"admin": frozenset({LOGIN}), "alice": frozenset({LOGIN}),
            "ci": frozenset({API_KEY})}  # fmt: skip
CONFIG = AuthConfig(accounts=ACCOUNTS, policy=Policy.parse("g, alice, role:readonly"),
                    login_failures=3, login_window=60)  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with await Store.open(tmp_path / "fleetsync.db") as opened:
        yield opened


def authenticator(store: Store, tmp_path: Path, clock: Clock,
                  config: AuthConfig = CONFIG) -> Authenticator:  # fmt: skip
    return Authenticator(config=config, store=store.accounts, key=b"k" * 32,
                         data_dir=tmp_path, clock=clock)  # fmt: skip


async def test_the_admin_gets_a_first_password_once(store: Store, tmp_path: Path) -> None:
    auth = authenticator(store, tmp_path, Clock())
    assert await auth.ensure_admin()
    path = auth.initial_password_file
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    password = path.read_text().strip()
    assert not await auth.ensure_admin()  # a restart keeps it
    assert path.read_text().strip() == password
    token, _ = await auth.login("admin", password, address="127.0.0.1")
    principal = await auth.authenticate(token)
    assert principal is not None and principal.name == "admin"
    assert "role:admin" in principal.subjects
    await auth.set_password("admin", "a new password", current=password)
    assert not path.exists()
    assert await auth.authenticate(token) is None  # a new password ends old sessions


async def test_unknown_accounts_and_wrong_passwords_get_the_same_answer(
    store: Store, tmp_path: Path
) -> None:
    auth = authenticator(store, tmp_path, Clock())
    await auth.set_password("alice", "alice's password", current=None)
    answers = []
    for name, password in (("alice", "wrong"), ("nobody", "wrong"), ("ci", "wrong")):
        with pytest.raises(LoginRefused) as refused:
            await auth.login(name, password, address=f"10.0.0.{len(answers)}")
        answers.append((str(refused.value), refused.value.retry_after))
    assert answers == [(INVALID, None)] * 3


async def test_failed_logins_are_limited_per_account_and_address_across_a_restart(
    tmp_path: Path
) -> None:
    clock = Clock()
    async with await Store.open(tmp_path / "fleetsync.db") as store:
        auth = authenticator(store, tmp_path, clock)
        await auth.set_password("alice", "alice's password", current=None)
        for attempt in range(3):
            with pytest.raises(LoginRefused, match=INVALID):
                await auth.login("alice", "guess", address=f"10.0.0.{attempt}")
    async with await Store.open(tmp_path / "fleetsync.db") as store:  # a restart
        auth = authenticator(store, tmp_path, clock)
        with pytest.raises(LoginRefused, match="too many") as refused:
            await auth.login("alice", "alice's password", address="10.0.0.9")
        assert refused.value.retry_after == 60
        clock.now += 61
        assert await auth.login("alice", "alice's password", address="10.0.0.9")
        # One address guessing many accounts is limited too.
        for name in ("bob", "carol", "dave"):
            with pytest.raises(LoginRefused, match=INVALID):
                await auth.login(name, "guess", address="10.6.6.6")
        with pytest.raises(LoginRefused, match="too many"):
            await auth.login("alice", "alice's password", address="10.6.6.6")


async def test_tokens_end_with_logout_revocation_and_the_account(
    store: Store, tmp_path: Path
) -> None:
    clock = Clock()
    auth = authenticator(store, tmp_path, clock)
    await auth.set_password("alice", "alice's password", current=None)
    session, expires = await auth.login("alice", "alice's password", address="127.0.0.1")
    assert expires == int(clock.now) + CONFIG.session_seconds
    principal = await auth.authenticate(session)
    assert principal is not None and "role:readonly" in principal.subjects
    await auth.logout(principal)
    assert await auth.authenticate(session) is None

    api, record = await auth.create_api_token("ci", description="deploys", lifetime=3600)
    robot = await auth.authenticate(api)
    assert robot is not None and robot.name == "ci"
    assert [t.id for t in await store.accounts.api_tokens("ci")] == [record.id]
    clock.now += 3600
    assert await auth.authenticate(api) is None  # expired
    api, _ = await auth.create_api_token("ci", description="deploys", lifetime=3600)
    assert await auth.authenticate(api) is not None
    robot = await auth.authenticate(api)
    assert robot is not None
    await auth.logout(robot)  # an API token's logout revokes it
    assert await auth.authenticate(api) is None

    with pytest.raises(AccountError, match="apiKey"):
        await auth.create_api_token("alice", description="", lifetime=60)
    with pytest.raises(LoginRefused):  # ci has no login capability
        await auth.login("ci", "anything at all", address="127.0.0.1")

    again, _ = await auth.login("alice", "alice's password", address="127.0.0.1")
    gone = AuthConfig(accounts={"admin": frozenset({LOGIN})}, policy=CONFIG.policy)
    assert await authenticator(store, tmp_path, clock, gone).authenticate(again) is None


async def test_passwords_are_checked_before_they_are_set(store: Store, tmp_path: Path) -> None:
    auth = authenticator(store, tmp_path, Clock())
    with pytest.raises(AccountError, match="at least"):
        await auth.set_password("alice", "short", current=None)
    await auth.set_password("alice", "alice's password", current=None)
    with pytest.raises(AccountError, match="current password is wrong"):
        await auth.set_password("alice", "another password", current="not it")
    with pytest.raises(AccountError, match="does not exist"):
        await auth.set_password("mallory", "mallory's password", current=None)


async def test_replicas_on_one_store_sign_with_one_key(store: Store, tmp_path: Path) -> None:
    first = await Authenticator.open(config=CONFIG, store=store.accounts,
                                     data_dir=tmp_path / "replica-a")  # fmt: skip
    other = await Authenticator.open(config=CONFIG, store=store.accounts,
                                     data_dir=tmp_path / "replica-b")  # fmt: skip
    assert await first.ensure_admin() and not await other.ensure_admin()
    password = first.initial_password_file.read_text().strip()
    token, _ = await first.login("admin", password, address="127.0.0.1")
    found = await other.authenticate(token)  # a login at one replica holds at the others
    assert found is not None and found.name == "admin"
    # Each made its own key file; the store kept the first one's.
    files = [(tmp_path / replica / "auth" / "session.key").read_bytes()
             for replica in ("replica-a", "replica-b")]  # fmt: skip
    assert files[0] != files[1]
    assert await store.accounts.shared_key("session-signing", b"x" * 32) == files[0]
