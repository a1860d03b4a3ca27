"""Access keys: one mirror per repository and credential, no secret in the key (pure)."""

from pathlib import Path

import pytest

from engine.source import git
from engine.source.access import access_of
from engine.source.credentials import Credentials, CredentialStore
from engine.source.git import GitSource

SALT = b"s" * 32
REPO = "https://git.example.com/acme/repo.git"


def key(repo: str, store: CredentialStore | None = None, salt: bytes = SALT) -> str:
    return access_of(repo, store or CredentialStore(), salt=salt).key


def test_spellings_of_one_repository_share_an_anonymous_access() -> None:
    assert key(REPO) == key("HTTPS://git.example.com/acme/repo/")
    assert key(REPO) != key("https://git.example.com/acme/other")


def test_credentials_in_the_url_get_their_own_access_without_the_secret_in_it() -> None:
    with_token = access_of("https://bot:s3cret@git.example.com/acme/repo", CredentialStore(),
                           salt=SALT)  # fmt: skip
    assert with_token.key != key(REPO)
    assert with_token.key != key("https://bot:other@git.example.com/acme/repo")
    assert with_token.key == key("https://bot:s3cret@git.example.com/acme/repo.git")
    assert "s3cret" not in with_token.key and "s3cret" not in with_token.fetch_url
    assert with_token.credentials == Credentials("bot", "s3cret")


def test_a_token_as_user_name_alone_is_a_credential_of_its_own() -> None:
    assert key("https://ghp_abc@git.example.com/acme/repo") != key(REPO)


def test_keys_are_hub_specific_so_that_no_repository_can_aim_at_a_mirror_path() -> None:
    url = "https://bot:s3cret@git.example.com/acme/repo"
    assert key(url, salt=b"a" * 32) != key(url, salt=b"b" * 32)
    assert key(REPO, salt=b"a" * 32) != key(REPO, salt=b"b" * 32)


def test_operator_credentials_are_one_access_per_store_entry_and_survive_rotation() -> None:
    old = CredentialStore({"https://git.example.com/acme": Credentials.token("t1")})
    new = CredentialStore({"https://git.example.com/acme": Credentials.token("t2")})
    other = CredentialStore({"https://git.example.com/acme/repo": Credentials.token("t1")})
    assert key(REPO, old) == key(REPO, new) != key(REPO)
    assert key(REPO, old) != key(REPO, other)
    assert access_of(REPO, old, salt=SALT).credentials == Credentials.token("t1")


def test_url_password_wins_over_the_operator_entry() -> None:
    store = CredentialStore({"https://git.example.com/acme": Credentials.token("t1")})
    url = "https://bot:mine@git.example.com/acme/repo"
    assert key(url, store) != key(REPO, store)
    assert access_of(url, store, salt=SALT).credentials == Credentials("bot", "mine")


def test_a_git_source_finds_each_access_once_and_again_when_credentials_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = CredentialStore()
    source = GitSource(tmp_path, credentials=store)
    found: list[str] = []
    monkeypatch.setattr(git, "access_of", lambda repo, *a, **k: found.append(repo) or access_of(
        repo, *a, **k))
    anonymous = source.access_key(REPO)
    assert source.access_key(REPO) == anonymous and found == [REPO]
    store.add("https://git.example.com/acme", Credentials.token("t1"))
    operator = source.access_key(REPO)
    assert operator != anonymous and found == [REPO, REPO]
    source.credentials = CredentialStore()  # a new store: found again, anonymous
    assert source.access_key(REPO) == anonymous and len(found) == 3
