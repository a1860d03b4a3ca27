"""Credentials per repository URL or URL prefix, and how they reach git.

Secrets never go into argv: an HTTPS user name and password (or token) reach git through
``GIT_ASKPASS``, a tiny script that prints environment variables of the git child; an SSH
key reaches ``ssh`` as a file path in ``GIT_SSH_COMMAND``. Lookup is by the longest prefix
of the normalised URL that ends on a path segment boundary.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from engine.repourls import normalise_url

ASKPASS_USERNAME_ENV = "FLEETSYNC_GIT_USERNAME"
ASKPASS_PASSWORD_ENV = "FLEETSYNC_GIT_PASSWORD"
DEFAULT_TOKEN_USERNAME = "x-access-token"

ASKPASS_SCRIPT = f"""#!/bin/sh
# Written by fleetsync: answers git's credential prompts from the environment.
case "$1" in
  Username*) printf '%s\\n' "${ASKPASS_USERNAME_ENV}" ;;
  *) printf '%s\\n' "${ASKPASS_PASSWORD_ENV}" ;;
esac
"""


@dataclass(frozen=True)
class Credentials:
    """How to authenticate to a remote: HTTPS user and password/token, or an SSH key file."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssh_key: Path | None = None
    known_hosts: Path | None = None

    @classmethod
    def token(cls, token: str, *, username: str = DEFAULT_TOKEN_USERNAME) -> Credentials:
        """HTTPS credentials for a personal access token (sent as the password)."""
        return cls(username=username, password=token)

    @classmethod
    def ssh(cls, key: Path, *, known_hosts: Path | None = None) -> Credentials:
        """SSH credentials: a private key file and, optionally, a known_hosts file."""
        return cls(ssh_key=key, known_hosts=known_hosts)

    def secrets(self) -> tuple[str, ...]:
        """The strings that must never be shown anywhere."""
        return (self.password,) if self.password else ()


class CredentialStore:
    """Credentials keyed by repository URL or URL prefix; the longest matching prefix wins."""

    def __init__(self, entries: Mapping[str, Credentials] | None = None) -> None:
        self._entries: dict[str, Credentials] = {}
        self.generation = 0  # counts changes: what was matched before may differ now
        for prefix, creds in (entries or {}).items():
            self.add(prefix, creds)

    def add(self, prefix: str, credentials: Credentials) -> None:
        """Use ``credentials`` for ``prefix`` and every repository below it."""
        self._entries[normalise_url(prefix)] = credentials
        self.generation += 1

    def lookup(self, repo: str) -> Credentials | None:
        """The credentials of the longest prefix that contains ``repo``, if any."""
        found = self.match(repo)
        return found[1] if found else None

    def match(self, repo: str) -> tuple[str, Credentials] | None:
        """The longest prefix (normalised) that contains ``repo``, with its credentials."""
        url = normalise_url(repo)
        matches = [p for p in self._entries if url == p or url.startswith(p.rstrip("/") + "/")]
        if not matches:
            return None
        prefix = max(matches, key=len)
        return prefix, self._entries[prefix]

    def secrets(self) -> tuple[str, ...]:
        """Every secret held, to redact from any text shown."""
        return tuple(s for creds in self._entries.values() for s in creds.secrets())


def credential_env(
    credentials: Credentials | None, *, askpass: Path, known_hosts: Path
) -> dict[str, str]:
    """Environment variables giving ``credentials`` to a git child process."""
    env = {"GIT_ASKPASS": str(askpass), "SSH_ASKPASS": str(askpass)}
    if credentials is not None and credentials.username is not None:
        env[ASKPASS_USERNAME_ENV] = credentials.username
    if credentials is not None and credentials.password is not None:
        env[ASKPASS_PASSWORD_ENV] = credentials.password
        env.setdefault(ASKPASS_USERNAME_ENV, DEFAULT_TOKEN_USERNAME)
    env["GIT_SSH_COMMAND"] = ssh_command(credentials, known_hosts=known_hosts)
    return env


def ssh_command(credentials: Credentials | None, *, known_hosts: Path) -> str:
    """The ``ssh`` command git runs: batch mode, the configured key only, TOFU host keys."""
    hosts = credentials.known_hosts if credentials and credentials.known_hosts else known_hosts
    words = [
        "ssh",
        "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=accept-new",
        "-o", f"UserKnownHostsFile={hosts}",
        "-o", "ConnectTimeout=15",
        "-F", "/dev/null",
    ]  # fmt: skip
    if credentials is not None and credentials.ssh_key is not None:
        words += ["-i", str(credentials.ssh_key), "-o", "IdentitiesOnly=yes"]
    return shlex.join(words)
