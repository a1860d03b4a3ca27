"""Apply: make a cluster match Git for one app (server-side apply, waves, prune, health).

``sync(app=, client=, namespace=, render=, options=)`` runs the whole sequence and returns a
``SyncResult``; ``diff(...)`` stops after the diff and writes nothing. The inventory lives
in the cluster (see ``engine.inventory``).
"""

from __future__ import annotations

from engine.apply.results import (
    Condition,
    Reason,
    ResourceResult,
    ResultCode,
    SyncOptions,
    SyncResult,
)
from engine.apply.sync import Render, diff, sync

__all__ = [
    "Condition",
    "Reason",
    "Render",
    "ResourceResult",
    "ResultCode",
    "SyncOptions",
    "SyncResult",
    "diff",
    "sync",
]
