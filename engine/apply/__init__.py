"""Apply: make a cluster match Git for one app (server-side apply, waves, prune, health).

``compare(app=, client=, namespace=, render=, options=)`` renders, plans and diffs (writing
nothing) and returns a ``Comparison``; ``execute(comparison)`` applies, prunes and checks
health and returns a ``SyncResult`` (``engine.model.results``). ``sync(...)`` is both;
``diff(...)`` is the comparison's result alone. The inventory lives in the cluster (see
``engine.model.inventory``).
"""

from __future__ import annotations

from engine.apply.options import SyncOptions
from engine.apply.sync import Comparison, Render, compare, diff, execute, sync

__all__ = [
    "Comparison",
    "Render",
    "SyncOptions",
    "compare",
    "diff",
    "execute",
    "sync",
]
