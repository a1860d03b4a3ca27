"""``spec.syncPolicy`` of an Application: automated sync, retry and sync options (pure).

Sync options are ``Key=Value`` strings as in Argo CD. fleetsync acts on
``CreateNamespace``, ``PruneLast``, ``Prune``, ``PrunePropagationPolicy``,
``ServerSideApply`` (fleetsync always applies server-side, so ``=false`` is reported) and
``timeout.reconcile`` (the per-app reconcile interval; Argo CD only has a global one).
Argo CD options that fleetsync does not implement (``Replace``, ``Validate``, ...) and
unknown options are reported as warnings and ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.apps.fields import Fields
from engine.backoff import Backoff
from engine.durations import parse_duration

DEFAULT_RECONCILE_INTERVAL = 180.0  # seconds, Argo CD's timeout.reconciliation default
DEFAULT_RETRY_DURATION = 5.0
DEFAULT_RETRY_FACTOR = 2.0
DEFAULT_RETRY_MAX_DURATION = 180.0

_IGNORED_OPTIONS = {
    "Validate",
    "Replace",
    "Force",
    "ApplyOutOfSyncOnly",
    "SkipDryRunOnMissingResource",
    "RespectIgnoreDifferences",
    "FailOnSharedResource",
    "Delete",
    "ClientSideApplyMigration",
}
_PROPAGATION = {"foreground", "background", "orphan"}


@dataclass(frozen=True)
class Automated:
    """``syncPolicy.automated``: sync on every change; optionally prune and heal drift."""

    prune: bool = False
    self_heal: bool = False
    allow_empty: bool = False


@dataclass(frozen=True)
class Retry:
    """``syncPolicy.retry``: attempts after a failed sync (negative: no limit), backoff in s."""

    limit: int = 0
    duration: float = DEFAULT_RETRY_DURATION
    factor: float = DEFAULT_RETRY_FACTOR
    max_duration: float = DEFAULT_RETRY_MAX_DURATION

    def backoff(self) -> Backoff:
        """The waits this block asks for, as the scheduler's ``Backoff``."""
        return Backoff(duration=self.duration, factor=self.factor,
                       max_duration=self.max_duration,
                       limit=None if self.limit < 0 else self.limit)  # fmt: skip


@dataclass(frozen=True)
class SyncFlags:
    """The ``syncOptions`` flags of an Application that fleetsync acts on (what the apply
    core is given is ``engine.apply.options.SyncOptions``, built from these)."""

    create_namespace: bool = False
    prune_last: bool = False
    prune: bool = True
    prune_propagation: str = "foreground"
    server_side_apply: bool = True
    reconcile_interval: float = DEFAULT_RECONCILE_INTERVAL


@dataclass(frozen=True)
class SyncPolicy:
    """``spec.syncPolicy``; ``automated`` is None for manual sync."""

    automated: Automated | None = None
    options: SyncFlags = field(default_factory=SyncFlags)
    retry: Retry | None = None


def parse_sync_policy(raw: Mapping[str, Any], fields: Fields) -> SyncPolicy:
    """Validate ``spec.syncPolicy`` (already a mapping)."""
    path = "spec.syncPolicy"
    fields.unsupported(raw, {"automated", "syncOptions", "retry"}, path)
    return SyncPolicy(
        automated=_automated(raw, fields, path),
        options=_options(fields.strings(raw, "syncOptions", path), fields),
        retry=_retry(raw, fields, path),
    )


def _automated(raw: Mapping[str, Any], fields: Fields, path: str) -> Automated | None:
    if "automated" not in raw:
        return None
    block = fields.mapping(raw, "automated", path)
    path = f"{path}.automated"
    fields.unsupported(block, {"prune", "selfHeal", "allowEmpty", "enabled"}, path)
    if not fields.boolean(block, "enabled", path, True):
        return None
    return Automated(
        prune=fields.boolean(block, "prune", path, False),
        self_heal=fields.boolean(block, "selfHeal", path, False),
        allow_empty=fields.boolean(block, "allowEmpty", path, False),
    )


def _retry(raw: Mapping[str, Any], fields: Fields, path: str) -> Retry | None:
    if "retry" not in raw:
        return None
    block = fields.mapping(raw, "retry", path)
    path = f"{path}.retry"
    fields.unsupported(block, {"limit", "backoff"}, path)
    backoff = fields.mapping(block, "backoff", path)
    bpath = f"{path}.backoff"
    fields.unsupported(backoff, {"duration", "factor", "maxDuration"}, bpath)
    factor = fields.integer(backoff, "factor", bpath)
    if factor is not None and factor < 1:
        raise fields.error(f"{bpath}.factor", "must be at least 1")
    duration = fields.duration(backoff, "duration", bpath)
    max_duration = fields.duration(backoff, "maxDuration", bpath)
    return Retry(
        limit=fields.integer(block, "limit", path) or 0,
        duration=DEFAULT_RETRY_DURATION if duration is None else duration,
        factor=DEFAULT_RETRY_FACTOR if factor is None else float(factor),
        max_duration=DEFAULT_RETRY_MAX_DURATION if max_duration is None else max_duration,
    )


def _options(entries: tuple[str, ...], fields: Fields) -> SyncFlags:
    values: dict[str, Any] = {}
    for index, entry in enumerate(entries):
        path = f"spec.syncPolicy.syncOptions[{index}]"
        key, sep, value = (part.strip() for part in entry.partition("="))
        if not sep:
            fields.warn(path, f"{entry!r} is not Key=Value; ignored")
        elif key in _IGNORED_OPTIONS:
            fields.warn(path, f"{entry!r} is not supported; ignored")
        elif key == "timeout.reconcile":
            values["reconcile_interval"] = _interval(value, fields, path)
        elif key == "PrunePropagationPolicy":
            if value not in _PROPAGATION:
                raise fields.error(path, f"{key} must be one of {', '.join(sorted(_PROPAGATION))}")
            values["prune_propagation"] = value
        elif key in _FLAGS:
            values[_FLAGS[key]] = _flag(key, value, fields, path)
        else:
            fields.warn(path, f"{entry!r} is an unknown sync option; ignored")
    if values.get("server_side_apply") is False:
        fields.warn(
            "spec.syncPolicy.syncOptions",
            "ServerSideApply=false is ignored: fleetsync always applies server-side",
        )
        values["server_side_apply"] = True
    return SyncFlags(**values)


_FLAGS = {
    "CreateNamespace": "create_namespace",
    "PruneLast": "prune_last",
    "Prune": "prune",
    "ServerSideApply": "server_side_apply",
}


def _flag(key: str, value: str, fields: Fields, path: str) -> bool:
    if value not in {"true", "false"}:
        raise fields.error(path, f"{key} must be true or false, not {value!r}")
    return value == "true"


def _interval(value: str, fields: Fields, path: str) -> float:
    try:
        seconds = parse_duration(value)
    except ValueError:
        raise fields.error(
            path, f"timeout.reconcile {value!r} is not a duration like 30s"
        ) from None
    if seconds <= 0:
        raise fields.error(path, "timeout.reconcile must be positive")
    return seconds
