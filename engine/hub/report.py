"""What one reconcile reports to the runtime around it (pure).

The reconcile of a target calls nothing above it: it returns a ``ReconcileReport`` and the
runtime (``engine.hub.runtime``) hands each part its piece: the Git poller the paths the
render read (to poll for changes of those only), the live watcher the kinds to watch, the
cluster view whether the cluster answered, and the metrics the outcome and the sync.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.apps import AppTarget
from engine.model import OperationPhase, TargetKey
from engine.model.reconciles import Outcome

Kind = tuple[str, str]  # (apiVersion, kind)
ANY_PATH = frozenset({""})  # the whole repository: what a failed render may depend on


@dataclass(frozen=True)
class ReconcileReport:
    """How one reconcile of ``key`` went, and what it learnt for the parts around it.

    ``sha`` is the commit it rendered; ``paths`` the repository paths that render read
    (None when nothing was rendered); ``kinds`` what the target manages now (None when the
    cluster was not compared: keep watching what was watched); ``reached`` whether the
    cluster answered (None when it was not contacted) and ``unreachable`` why not;
    ``synced`` the phase of the operation it finished, if any, after ``sync_seconds``;
    ``rendered`` whether it rendered now (False: from the cache; None: no render);
    ``settled`` the live version at which the target is Synced at ``sha`` with no
    condition (a periodic resync may skip it while that version holds), else None.
    """

    key: TargetKey
    outcome: Outcome
    target: AppTarget | None = None
    sha: str | None = None
    paths: frozenset[str] | None = None
    kinds: frozenset[Kind] | None = None
    reached: bool | None = None
    unreachable: str = ""
    synced: OperationPhase | None = None
    sync_seconds: float = 0.0
    rendered: bool | None = None
    settled: str | None = None
