"""Credential lookup by longest URL prefix, and the environment given to git (pure)."""

import shlex
from pathlib import Path

from engine.source.credentials import (
    ASKPASS_PASSWORD_ENV,
    ASKPASS_USERNAME_ENV,
    Credentials,
    CredentialStore,
    credential_env,
    ssh_command,
)

ORG = Credentials.token("org-token")
REPO = Credentials(username="deploy", password="repo-password")


def store() -> CredentialStore:
    return CredentialStore({"https://github.com/acme": ORG, "https://github.com/acme/app": REPO})


def test_longest_prefix_wins() -> None:
    assert store().lookup("https://github.com/acme/app.git") is REPO
    assert store().lookup("https://github.com/acme/other") is ORG


def test_prefix_matches_only_on_path_segment_boundary() -> None:
    assert store().lookup("https://github.com/acme-evil/app") is None
    assert store().lookup("https://github.com/acme/application") is ORG


def test_lookup_ignores_case_of_host_and_credentials_in_url() -> None:
    assert store().lookup("https://x:y@GITHUB.com/acme/app/") is REPO


def test_no_match_gives_none() -> None:
    assert store().lookup("https://gitlab.com/acme/app") is None


def test_repr_never_shows_the_password() -> None:
    assert "org-token" not in repr(ORG)
    assert "repo-password" not in repr(store().lookup("https://github.com/acme/app"))


def test_token_goes_to_askpass_environment_only() -> None:
    env = credential_env(ORG, askpass=Path("/c/askpass"), known_hosts=Path("/c/kh"))
    assert env[ASKPASS_PASSWORD_ENV] == "org-token"
    assert env[ASKPASS_USERNAME_ENV] == "x-access-token"
    assert env["GIT_ASKPASS"] == "/c/askpass"
    assert "org-token" not in env["GIT_SSH_COMMAND"]


def test_no_credentials_means_no_secret_variables() -> None:
    env = credential_env(None, askpass=Path("/a"), known_hosts=Path("/k"))
    assert ASKPASS_PASSWORD_ENV not in env


def test_ssh_command_uses_only_the_configured_key() -> None:
    creds = Credentials.ssh(Path("/keys/deploy key"), known_hosts=Path("/keys/known"))
    words = shlex.split(ssh_command(creds, known_hosts=Path("/default")))
    assert words[words.index("-i") + 1] == "/keys/deploy key"
    assert "IdentitiesOnly=yes" in words
    assert "StrictHostKeyChecking=accept-new" in words
    assert "UserKnownHostsFile=/keys/known" in words
    assert "BatchMode=yes" in words


def test_ssh_command_defaults_to_private_known_hosts() -> None:
    words = shlex.split(ssh_command(None, known_hosts=Path("/cache/kh")))
    assert "UserKnownHostsFile=/cache/kh" in words
    assert "-i" not in words


def test_store_lists_every_secret_for_redaction() -> None:
    assert set(store().secrets()) == {"org-token", "repo-password"}
