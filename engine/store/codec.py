"""Conversion between store rows and the model's frozen values (pure).

Times are ISO 8601 text in UTC; lists and sets are JSON text written by orjson, with
resource keys flattened to ``{group, kind, namespace, name}`` so that the file can be
read with the ``sqlite3`` shell and its JSON functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from engine.model import HealthStatus, OperationPhase, ResourceKey, SyncStatus, TargetKey
from engine.model.status import (
    Condition,
    HistoryEntry,
    JSONValue,
    Operation,
    ResourceStatus,
    SyncSource,
    TargetStatus,
)

Row = Mapping[str, Any]


class BadRow(ValueError):
    """A stored row holds a value this code cannot read."""


def time_text(value: datetime) -> str:
    """A time as stored: ISO 8601 text."""
    return value.isoformat()


def time_of(text: str | None) -> datetime | None:
    """A stored time back as a datetime; None stays None."""
    return None if text is None else datetime.fromisoformat(text)


def dump(value: JSONValue) -> str:
    """JSON text of ``value``, as stored."""
    return orjson.dumps(value).decode()


def load(text: str) -> JSONValue:
    """The value of stored JSON text."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise BadRow(f"invalid JSON: {exc}") from exc


def _key_dict(key: ResourceKey) -> dict[str, str]:
    return {"group": key.group, "kind": key.kind, "namespace": key.namespace, "name": key.name}


def _key_of(item: Mapping[str, Any]) -> ResourceKey:
    return ResourceKey(item["group"], item["kind"], item["namespace"], item["name"])


def _resource_dict(resource: ResourceStatus) -> dict[str, Any]:
    health = None if resource.health is None else resource.health.value
    return {
        **_key_dict(resource.key),
        "sync": resource.sync.value,
        "health": health,
        "message": resource.message,
    }


def _resource_of(item: Mapping[str, Any]) -> ResourceStatus:
    health = None if item["health"] is None else HealthStatus(item["health"])
    return ResourceStatus(_key_of(item), SyncStatus(item["sync"]), health, item["message"])


def _condition_dict(condition: Condition) -> dict[str, str]:
    return {
        "type": condition.type,
        "reason": condition.reason,
        "message": condition.message,
        "last_transition": time_text(condition.last_transition),
    }


def _condition_of(item: Mapping[str, Any]) -> Condition:
    last = datetime.fromisoformat(item["last_transition"])
    return Condition(item["type"], item["reason"], item["message"], last)


def status_params(status: TargetStatus) -> dict[str, Any]:
    """The named SQL parameters that store ``status`` (its operation excluded)."""
    return {
        "app": status.key.app,
        "cluster": status.key.cluster,
        "sync": status.sync.value,
        "health": status.health.value,
        "health_message": status.health_message,
        "revision": status.revision,
        "target_revision": status.target_revision,
        "resources": dump([_resource_dict(r) for r in status.resources]),
        "conditions": dump([_condition_dict(c) for c in status.conditions]),
        "inventory": dump([_key_dict(k) for k in sorted(status.inventory)]),
        "live_version": status.live_version,
        "reconciled_at": None if status.reconciled_at is None else time_text(status.reconciled_at),
    }


def status_of(row: Row, operation: Operation | None) -> TargetStatus:
    """The status a ``target_status`` row holds, with its last operation."""
    try:
        return _status_of(row, operation)
    except (ValueError, KeyError, TypeError) as exc:
        raise BadRow(f"status of {row['app']}@{row['cluster']}: {exc!r}") from exc


def _status_of(row: Row, operation: Operation | None) -> TargetStatus:
    return TargetStatus(
        key=TargetKey(row["app"], row["cluster"]),
        sync=SyncStatus(row["sync"]),
        health=HealthStatus(row["health"]),
        health_message=row["health_message"],
        revision=row["revision"],
        target_revision=row["target_revision"],
        operation=operation,
        resources=tuple(_resource_of(item) for item in load(row["resources"])),
        conditions=tuple(_condition_of(item) for item in load(row["conditions"])),
        inventory=frozenset(_key_of(item) for item in load(row["inventory"])),
        live_version=row["live_version"],
        reconciled_at=time_of(row["reconciled_at"]),
    )


def operation_of(row: Row, prefix: str = "") -> Operation | None:
    """The operation a row holds (columns named ``prefix + column``); None if NULL."""
    if row[prefix + "id"] is None:
        return None
    try:
        return _operation_of(row, prefix)
    except (ValueError, KeyError, TypeError) as exc:
        raise BadRow(f"operation {row[prefix + 'id']}: {exc!r}") from exc


def _operation_of(row: Row, prefix: str) -> Operation:
    started_at = time_of(row[prefix + "started_at"])
    assert started_at is not None  # NOT NULL in the schema
    return Operation(
        id=row[prefix + "id"],
        key=TargetKey(row[prefix + "app"], row[prefix + "cluster"]),
        revision=row[prefix + "revision"],
        trigger=row[prefix + "trigger"],
        source=SyncSource(row[prefix + "source_repo"], row[prefix + "source_path"]),
        phase=OperationPhase(row[prefix + "phase"]),
        message=row[prefix + "message"],
        started_at=started_at,
        finished_at=time_of(row[prefix + "finished_at"]),
    )


def history_entry_of(operation: Operation) -> HistoryEntry:
    """The history entry of a finished operation."""
    if operation.finished_at is None or operation.phase is OperationPhase.RUNNING:
        raise ValueError(f"operation {operation.id} has not finished")
    return HistoryEntry(
        id=operation.id,
        key=operation.key,
        revision=operation.revision,
        started_at=operation.started_at,
        finished_at=operation.finished_at,
        phase=operation.phase,
        message=operation.message,
        trigger=operation.trigger,
        source=operation.source,
    )
