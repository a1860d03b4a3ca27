"""Turning ``fleetsync.yaml`` settings into the objects the hub runs with."""

from __future__ import annotations

import contextlib
from pathlib import Path

from engine.apps import Retry
from engine.backoff import Backoff
from engine.clusters import ClusterRegistry
from engine.clusters.client import spec_secrets
from engine.config.hub import HubConfig
from engine.errors import ConfigError
from engine.source import Credentials, CredentialStore, GitSource

MIN_SECRET = 4  # shorter "secrets" would redact ordinary words from every log line


def credentials(config: HubConfig) -> CredentialStore:
    """The Git credentials of ``config``, secrets read now (from env or files)."""
    store = CredentialStore()
    for entry in config.git.credentials:
        if entry.ssh_key_file is not None:
            store.add(entry.url, Credentials.ssh(entry.ssh_key_file,
                                                 known_hosts=entry.known_hosts_file))
        else:
            password = entry.password.read() if entry.password else None
            store.add(entry.url, Credentials(username=entry.username, password=password))
    return store


def git_source(config: HubConfig, cache_dir: Path, *, allow_local: bool) -> GitSource:
    """The Git mirrors under ``cache_dir`` with the credentials and limits of ``config``."""
    return GitSource(cache_dir, credentials=credentials(config),
                     network_timeout=config.git.timeout, allow_local=allow_local,
                     max_tree_files=config.limits.tree_files,
                     max_tree_bytes=config.limits.tree_bytes)  # fmt: skip


def secrets(config: HubConfig, registry: ClusterRegistry) -> list[str]:
    """Every secret the hub holds now (Git passwords, webhook secret, cluster tokens), to
    redact from its logs; one that cannot be read is left out (its user reports it)."""
    found = list(credentials(config).secrets())
    refs = [ref for _, ref in config.secret_refs()]
    for ref in refs:
        with contextlib.suppress(ConfigError):
            found.append(ref.read())
    for spec in registry.clusters.values():
        with contextlib.suppress(ConfigError, OSError):
            found.extend(spec_secrets(spec))
    return [s for s in found if len(s) >= MIN_SECRET]


def backoff(retry: Retry | None) -> Backoff:
    """Argo CD's ``syncPolicy.retry`` as a scheduler backoff; unlimited 5s→3m without one.

    Unlike Argo CD, temporary failures (an unreachable cluster or repository) are retried
    even without a retry block: a hub must recover on its own once the outage ends.
    """
    return retry.backoff() if retry is not None else Backoff()
