"""Turning ``fleetsync.yaml`` settings into the objects the hub runs with."""

from __future__ import annotations

from engine.apps import Retry
from engine.config import HubConfig
from engine.scheduler.timers import Backoff
from engine.source import Credentials, CredentialStore


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


def backoff(retry: Retry | None) -> Backoff:
    """Argo CD's ``syncPolicy.retry`` as a scheduler backoff; unlimited 5s→3m without one.

    Unlike Argo CD, temporary failures (an unreachable cluster or repository) are retried
    even without a retry block: a hub must recover on its own once the outage ends.
    """
    if retry is None:
        return Backoff()
    limit = None if retry.limit < 0 else retry.limit
    return Backoff(duration=retry.duration, factor=retry.factor,
                   max_duration=retry.max_duration, limit=limit)
