"""The embedded store: status, sync history and runtime app settings in one SQLite file.

The hub keeps one ``Store`` open on ``<data dir>/fleetsync.db``. Every method is a
coroutine; writes run one at a time on a dedicated thread, reads on a second one
(``store.py`` explains why). Time is UTC. The values it keeps are those of
``engine.model.status``.

    store = await Store.open(path, *, history_limit=10, busy_timeout=5.0, clock=utc_now)
    await store.recover() -> list[TargetKey]           # once at startup: re-sync these
    await store.get_status(key) -> TargetStatus | None
    await store.list_statuses(app=None) -> list[TargetStatus]
    await store.save_status(status)                    # refresh without an operation
    op_id = await store.begin_operation(key, *, revision, trigger, source) -> int
    await store.finish_operation(op_id, *, phase, message, status, history_limit=None)
        -> Operation
    await store.history(key, *, limit=None) -> list[HistoryEntry]   # newest first
    await store.history_entry(key, entry_id) -> HistoryEntry | None
    await store.set_app_setting(app, name, value)      # JSON value; None removes
    await store.get_app_setting(app, name) -> value | None
    await store.app_settings(app) -> dict[str, value]
    await store.forget(key, *, keep_history=True)
    await store.schema_version() -> int
    await store.close()                                # or: async with store: ...

Operations and history. A sync is recorded as Running by ``begin_operation`` before it
touches the cluster, and ``finish_operation`` sets its phase, saves the target's status
and makes it a history entry in one transaction; the history entry *is* the finished
operation (same id, the id a rollback names). If the hub is killed in between, the next
start's ``recover()`` turns every operation still Running into ``Error`` ("interrupted by
hub restart") and returns their targets so the scheduler re-syncs them. Only the first
of finish/recover changes an operation, so neither twice nor both ever write two entries.
History keeps the newest ``history_limit`` finished operations per target (Argo CD's
revisionHistoryLimit, default 10); ``finish_operation(history_limit=N)`` overrides it
per app.

Status. ``TargetStatus.operation`` is the target's last operation, kept by
begin/finish; ``save_status`` writes every other field and leaves it alone.

Forgetting. ``forget(key)`` drops the status of a target that no longer exists and by
default keeps its (bounded) history, so the audit trail of a removed app or cluster
survives and a target that comes back shows its past; ``keep_history=False`` drops it
too. Operations still Running are never dropped: ``recover`` or finish closes them.

Errors are ``StoreError`` subclasses naming the file: ``StoreFenced`` (a write for a
cluster another replica reconciles now), ``StoreLocked`` (temporary),
``StoreCorrupt``, ``StoreTooNew``, ``StoreClosed``, ``UnknownOperation``.
"""

from engine.store.errors import (
    StoreClosed,
    StoreCorrupt,
    StoreError,
    StoreFenced,
    StoreLocked,
    StoreTooNew,
    UnknownOperation,
)
from engine.store.queries import INTERRUPTED
from engine.store.store import DEFAULT_HISTORY_LIMIT, Store, utc_now

__all__ = [
    "DEFAULT_HISTORY_LIMIT",
    "INTERRUPTED",
    "Store",
    "StoreClosed",
    "StoreCorrupt",
    "StoreError",
    "StoreFenced",
    "StoreLocked",
    "StoreTooNew",
    "UnknownOperation",
    "utc_now",
]
