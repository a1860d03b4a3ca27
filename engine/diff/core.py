"""``diff_object``: compare one object's live state with what Git wants; ``summarise``: the
app's sync status from its objects' diffs (pure).

When the server-side-apply dry run succeeded, its result (``predicted``, what live would
become) is compared with live: both are fully defaulted by the same server, so defaults
cancel out and only real drift remains. Without it, live is compared with live overlaid by
the desired fields, so only the fields Git declares can drift.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Sequence
from typing import Any

from engine.diff.attribution import attribute
from engine.diff.compare import differences, overlay
from engine.diff.ignore import IgnoreRule, apply_ignores
from engine.diff.mask import mask_pair
from engine.diff.normalise import is_secret, normalise
from engine.diff.paths import format_path
from engine.model import ResourceKey, SyncStatus
from engine.model.diffs import DRIFT, EXTRA, IN_SYNC, MISSING, ObjectDiff


def diff_object(
    *,
    desired: dict[str, Any] | None,
    predicted: dict[str, Any] | None,
    live: dict[str, Any] | None,
    ignore: Sequence[IgnoreRule] = (),
    mask_secrets: bool = True,
) -> ObjectDiff:
    """Diff one object; ``desired=None``: tracked but no longer desired, ``live=None``: missing."""
    source = live or predicted or desired
    if source is None:
        raise ValueError("diff_object needs a desired or a live object")
    key = ResourceKey.of(source)
    live_n = normalise(live) if live is not None else None
    if desired is None:
        return _differs(key, EXTRA, live_n, None, mask_secrets)
    target = normalise(predicted if predicted is not None else desired)
    if live_n is None:
        return _differs(key, MISSING, None, target, mask_secrets)
    if predicted is None:
        target = overlay(live_n, target)
    apply_ignores(key, ignore, live, live_n, target)
    paths = list(differences(live_n, target))
    if not paths:
        return ObjectDiff(key, SyncStatus.SYNCED, IN_SYNC)
    return _differs(
        key,
        DRIFT,
        live_n,
        target,
        mask_secrets,
        paths=tuple(format_path(p) for p in paths),
        drift=attribute(paths, live or {}),
    )


def _differs(
    key: ResourceKey,
    reason: str,
    live: dict[str, Any] | None,
    target: dict[str, Any] | None,
    mask_secrets: bool,
    **found: Any,
) -> ObjectDiff:
    if mask_secrets and is_secret(live or target or {}):
        live, target = copy.deepcopy(live), copy.deepcopy(target)
        mask_pair(live, target)
    return ObjectDiff(key, SyncStatus.OUT_OF_SYNC, reason, sides=(live, target), **found)


def summarise(diffs: Iterable[ObjectDiff]) -> SyncStatus:
    """App-level sync status: OutOfSync if any object differs, Unknown if any is unknown."""
    statuses = {d.status for d in diffs}
    if SyncStatus.OUT_OF_SYNC in statuses:
        return SyncStatus.OUT_OF_SYNC
    if SyncStatus.UNKNOWN in statuses:
        return SyncStatus.UNKNOWN
    return SyncStatus.SYNCED
