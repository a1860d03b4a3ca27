"""The store's SQL, as plain functions over one connection (blocking): ``sqlite3`` or
PostgreSQL through ``engine.store.postgres``, the same statements for both.

Every write runs in one ``BEGIN IMMEDIATE`` transaction, so a reader never sees half of
it and a killed process leaves either all of it or none. A history entry is the row of
a finished operation: ``begin_operation`` inserts it as Running, and ``finish_operation``
or ``recover`` turn it into its final phase with ``UPDATE ... WHERE phase = 'Running'``;
whichever comes first wins, so no path can write two entries for one operation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

from engine.model import OperationPhase, TargetKey
from engine.model.status import HistoryEntry, JSONValue, Operation, SyncSource, TargetStatus
from engine.store import codec
from engine.store.conn import Conn, is_postgres

INTERRUPTED = "interrupted by hub restart"
TAKEN_OVER = "interrupted: the replica running it lost its shard"

_OPERATION_COLUMNS = (
    "id",
    "app",
    "cluster",
    "revision",
    "trigger",
    "source_repo",
    "source_path",
    "phase",
    "message",
    "started_at",
    "finished_at",
)
_STATUS_SELECT = (
    "SELECT t.*, "
    + ", ".join(f"o.{c} AS op_{c}" for c in _OPERATION_COLUMNS)
    + " FROM target_status t LEFT JOIN operation o ON o.id = t.operation_id"
)
_INSERT_STATUS = """
INSERT INTO target_status (app, cluster, sync, health, health_message, revision,
    target_revision, resources, conditions, inventory, live_version, reconciled_at)
VALUES (:app, :cluster, :sync, :health, :health_message, :revision,
    :target_revision, :resources, :conditions, :inventory, :live_version, :reconciled_at)
"""
_INSERT_STATUS_IF_NEW = _INSERT_STATUS + "ON CONFLICT (app, cluster) DO NOTHING"
_UPSERT_STATUS = (
    _INSERT_STATUS
    + """ON CONFLICT (app, cluster) DO UPDATE SET
    sync = excluded.sync, health = excluded.health,
    health_message = excluded.health_message, revision = excluded.revision,
    target_revision = excluded.target_revision, resources = excluded.resources,
    conditions = excluded.conditions, inventory = excluded.inventory,
    live_version = excluded.live_version, reconciled_at = excluded.reconciled_at
"""
)
_POINT_TO_OPERATION = """
UPDATE target_status
SET operation_id = CASE WHEN COALESCE(operation_id, 0) > :id THEN operation_id ELSE :id END
WHERE app = :app AND cluster = :cluster
"""
_TRIM_HISTORY = """
DELETE FROM operation
WHERE app = :app AND cluster = :cluster AND phase != 'Running'
  AND id NOT IN (SELECT id FROM operation
                 WHERE app = :app AND cluster = :cluster AND phase != 'Running'
                 ORDER BY id DESC LIMIT :limit)
  AND id NOT IN (SELECT operation_id FROM target_status
                 WHERE app = :app AND cluster = :cluster AND operation_id IS NOT NULL)
"""
_FINISH = """
UPDATE operation SET phase = :phase, message = :message, finished_at = :finished_at
WHERE id = :id AND phase = 'Running'
"""


class NoSuchOperation(LookupError):
    """No operation has the id given."""


class Fenced(Exception):
    """The shard is reconciled by another replica now: this one's write is refused."""


# (shard, holder, generation) a write is made under; a shard is a cluster's name, or
# ``<cluster>#<k>`` for a cluster split by app (``engine.shards``); the table's ``cluster``
# column holds it.
Fence = tuple[str, str, int]


def claim_shard(conn: Conn, shard: str, holder: str, generation: int) -> bool:
    """Make ``holder`` at ``generation`` the one whose writes for ``shard`` count, unless a
    later generation already did; whether it did."""
    with write(conn):
        conn.execute(
            "INSERT INTO shard_fence (cluster, holder, generation) VALUES (?, ?, ?)"
            " ON CONFLICT (cluster) DO UPDATE SET holder = excluded.holder,"
            " generation = excluded.generation"
            " WHERE shard_fence.generation <= excluded.generation",
            (shard, holder, generation))
        return _fenced_by(conn, shard) == (holder, generation)


def _fenced_by(conn: Conn, shard: str) -> tuple[str, int] | None:
    # PostgreSQL: the row stays as read until this transaction ends (SQLite's write lock
    # already keeps every other writer out).
    lock = " FOR SHARE" if is_postgres(conn) else ""
    row = _one(conn.execute(
        f"SELECT holder, generation FROM shard_fence WHERE cluster = ?{lock}", (shard,)))
    return None if row is None else (str(row["holder"]), int(row["generation"]))


def check_fence(conn: Conn, fence: Fence | None) -> None:
    """Refuse (``Fenced``) a write made under ``fence`` when another holder or a later
    generation has claimed its shard; no fence: nothing to check."""
    if fence is None:
        return
    shard, holder, generation = fence
    found = _fenced_by(conn, shard)
    if found != (holder, generation):
        now = f"{found[0]} (generation {found[1]})" if found else "nobody"
        mine = f"{holder} (generation {generation})" if holder else "this replica"
        raise Fenced(f"shard {shard} is claimed by {now} now, not by {mine}")


@contextmanager
def write(conn: Conn) -> Iterator[None]:
    """One write transaction: committed at the end, rolled back on any error. Inside a
    transaction already (the store's group commit), a part of it that the caller's
    savepoint rolls back."""
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _one(cursor: Any) -> Any:
    # fetchall, not fetchone: a statement left unfinished would keep its read snapshot open.
    rows = cursor.fetchall()
    return rows[0] if rows else None


def _target(key: TargetKey) -> dict[str, str]:
    return {"app": key.app, "cluster": key.cluster}


def get_status(conn: Conn, key: TargetKey) -> TargetStatus | None:
    """The status of ``key``, or None if it has none."""
    sql = _STATUS_SELECT + " WHERE t.app = :app AND t.cluster = :cluster"
    row = _one(conn.execute(sql, _target(key)))
    return None if row is None else codec.status_of(row, codec.operation_of(row, "op_"))


def list_statuses(conn: Conn, app: str | None) -> list[TargetStatus]:
    """All statuses, or those of one app, ordered by app then cluster."""
    where = "" if app is None else " WHERE t.app = :app"
    rows = conn.execute(_STATUS_SELECT + where + " ORDER BY t.app, t.cluster", {"app": app})
    return [codec.status_of(row, codec.operation_of(row, "op_")) for row in rows]


def save_status(conn: Conn, status: TargetStatus, fence: Fence | None = None) -> None:
    """Insert or replace the status of ``status.key``, keeping its last operation."""
    with write(conn):
        check_fence(conn, fence)
        conn.execute(_UPSERT_STATUS, codec.status_params(status))


def begin_operation(
    conn: Conn,
    key: TargetKey,
    *,
    revision: str,
    trigger: str,
    source: SyncSource,
    now: datetime,
    fence: Fence | None = None,
) -> int:
    """Record a Running operation and make it the target's last; return its id."""
    with write(conn):
        check_fence(conn, fence)
        cursor = conn.execute(
            "INSERT INTO operation (app, cluster, revision, trigger, source_repo, source_path,"
            " phase, message, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, '', ?) RETURNING id",
            (
                key.app,
                key.cluster,
                revision,
                trigger,
                source.repo,
                source.path,
                OperationPhase.RUNNING.value,
                codec.time_text(now),
            ),
        )
        op_id = int(cursor.fetchall()[0][0])
        conn.execute(_INSERT_STATUS_IF_NEW, codec.status_params(TargetStatus(key)))
        conn.execute(_POINT_TO_OPERATION, {"id": op_id, **_target(key)})
        return op_id


def _operation(conn: Conn, op_id: int) -> Operation:
    row = _one(conn.execute("SELECT * FROM operation WHERE id = ?", (op_id,)))
    operation = None if row is None else codec.operation_of(row)
    if operation is None:
        raise NoSuchOperation(op_id)
    return operation


def finish_operation(
    conn: Conn,
    op_id: int,
    *,
    phase: OperationPhase,
    message: str,
    status: TargetStatus,
    now: datetime,
    history_limit: int,
    fence: Fence | None = None,
) -> Operation:
    """Finish a Running operation, save ``status`` and trim history, in one transaction.

    An operation that has already finished is left as it is and returned unchanged.
    """
    with write(conn):
        check_fence(conn, fence)
        operation = _operation(conn, op_id)
        if operation.phase is not OperationPhase.RUNNING:
            return operation
        if status.key != operation.key:
            raise ValueError(f"operation {op_id} is of {operation.key}, not {status.key}")
        finished = replace(operation, phase=phase, message=message, finished_at=now)
        conn.execute(
            _FINISH,
            {
                "id": op_id,
                "phase": phase.value,
                "message": message,
                "finished_at": codec.time_text(now),
            },
        )
        conn.execute(_UPSERT_STATUS, codec.status_params(status))
        conn.execute(_POINT_TO_OPERATION, {"id": op_id, **_target(status.key)})
        _trim(conn, status.key, history_limit)
        return finished


def _trim(conn: Conn, key: TargetKey, limit: int) -> None:
    conn.execute(_TRIM_HISTORY, {"limit": limit, **_target(key)})


def recover(
    conn: Conn, *, now: datetime, exclude: set[int], history_limit: int,
    only: Callable[[TargetKey], bool] | None = None, message: str = INTERRUPTED,
) -> list[TargetKey]:  # fmt: skip
    """Mark Running operations not in ``exclude`` (of the targets ``only`` accepts, if
    given) as Error with ``message``; return their targets."""
    with write(conn):
        rows = conn.execute("SELECT id, app, cluster FROM operation WHERE phase = 'Running'")
        interrupted = [row for row in rows.fetchall() if row["id"] not in exclude
                       and (only is None or only(TargetKey(row["app"], row["cluster"])))]
        for row in interrupted:
            conn.execute(
                _FINISH,
                {
                    "id": row["id"],
                    "phase": OperationPhase.ERROR.value,
                    "message": message,
                    "finished_at": codec.time_text(now),
                },
            )
        keys = sorted({TargetKey(row["app"], row["cluster"]) for row in interrupted})
        for key in keys:
            _trim(conn, key, history_limit)
        return keys


def history(conn: Conn, key: TargetKey, *, limit: int | None) -> list[HistoryEntry]:
    """The finished operations of ``key``, newest first."""
    rows = conn.execute(
        "SELECT * FROM operation WHERE app = :app AND cluster = :cluster"
        " AND phase != 'Running' ORDER BY id DESC" + ("" if limit is None else " LIMIT :limit"),
        {"limit": limit, **_target(key)},
    )
    return [codec.history_entry_of(_not_none(codec.operation_of(row))) for row in rows]


def history_entry(conn: Conn, key: TargetKey, entry_id: int) -> HistoryEntry | None:
    """The finished operation ``entry_id`` of ``key``, or None."""
    row = _one(
        conn.execute(
            "SELECT * FROM operation WHERE id = :id AND app = :app AND cluster = :cluster"
            " AND phase != 'Running'",
            {"id": entry_id, **_target(key)},
        )
    )
    return None if row is None else codec.history_entry_of(_not_none(codec.operation_of(row)))


def _not_none(operation: Operation | None) -> Operation:
    assert operation is not None
    return operation


def forget(conn: Conn, key: TargetKey, *, keep_history: bool) -> None:
    """Drop the status of ``key``; and its finished operations unless ``keep_history``."""
    with write(conn):
        conn.execute(
            "DELETE FROM target_status WHERE app = :app AND cluster = :cluster", _target(key)
        )
        if not keep_history:
            conn.execute(
                "DELETE FROM operation WHERE app = :app AND cluster = :cluster"
                " AND phase != 'Running'",
                _target(key),
            )


def set_app_setting(conn: Conn, app: str, name: str, value: JSONValue) -> None:
    """Store one setting of ``app``; None removes it."""
    with write(conn):
        if value is None:
            conn.execute("DELETE FROM app_setting WHERE app = ? AND name = ?", (app, name))
        else:
            conn.execute(
                "INSERT INTO app_setting (app, name, value) VALUES (?, ?, ?)"
                " ON CONFLICT (app, name) DO UPDATE SET value = excluded.value",
                (app, name, codec.dump(value)),
            )


def app_settings(conn: Conn, app: str) -> dict[str, Any]:
    """All settings of ``app``, by name."""
    rows = conn.execute("SELECT name, value FROM app_setting WHERE app = ? ORDER BY name", (app,))
    return {row["name"]: codec.load(row["value"]) for row in rows}


def queue_request(conn: Conn, key: TargetKey, action: str, body: JSONValue, now: str) -> None:
    """Leave an action on ``key`` for the replica that reconciles its cluster."""
    with write(conn):
        conn.execute("INSERT INTO pending_request (app, cluster, action, body, created_at)"
                     " VALUES (?, ?, ?, ?, ?)", (key.app, key.cluster, action, codec.dump(body),
                                                 now))  # fmt: skip


def take_requests(
    conn: Conn, clusters: Sequence[str], only: Callable[[TargetKey], bool] | None = None
) -> list[tuple[TargetKey, str, Any]]:
    """Remove and return, oldest first, the actions left for ``clusters`` (for the targets
    ``only`` accepts, if given: a cluster split by app has several owners)."""
    if not clusters:
        return []
    marks = ", ".join("?" for _ in clusters)
    with write(conn):
        rows = conn.execute(f"SELECT id, app, cluster FROM pending_request"
                            f" WHERE cluster IN ({marks})", tuple(clusters)).fetchall()
        ids = [r["id"] for r in rows
               if only is None or only(TargetKey(r["app"], r["cluster"]))]  # fmt: skip
        if not ids:
            return []
        marks = ", ".join("?" for _ in ids)
        # Another replica's take may have removed some meanwhile: RETURNING says which.
        rows = conn.execute(f"DELETE FROM pending_request WHERE id IN ({marks})"
                            " RETURNING id, app, cluster, action, body", tuple(ids))
        found = sorted(rows.fetchall(), key=lambda row: row["id"])
    return [(TargetKey(r["app"], r["cluster"]), r["action"], codec.load(r["body"]))
            for r in found]  # fmt: skip
