"""Argo CD's resource hooks (pure): which rendered objects are hooks, of which sync phases,
and when they are deleted.

An object annotated ``argocd.argoproj.io/hook`` (comma-separated: ``PreSync``, ``Sync``,
``PostSync``, ``SyncFail``, ``Skip``, ``PostDelete``) is a hook, not a resource of the app: it
is created when its phase runs, never diffed, recorded in the inventory or pruned. ``Skip``
alone means the object is not applied at all. Without that annotation, Helm's
``helm.sh/hook`` is read as Argo CD reads it: ``pre-install``/``pre-upgrade`` are PreSync,
``post-install``/``post-upgrade`` PostSync; Helm's other hooks (``pre-delete``, ``test``,
...) are not part of an install or upgrade, so a sync leaves them out. ``PostDelete`` hooks
are recognised but not run (fleetsync runs no hooks on deletion yet).

Deletion (``argocd.argoproj.io/hook-delete-policy``, or Helm's ``helm.sh/hook-delete-policy``):
``BeforeHookCreation`` (the default when none is given) deletes the previous run's object
before creating it again, ``HookSucceeded``/``HookFailed`` delete it once it succeeded or
failed. A hook's wave is its sync wave, else Helm's ``helm.sh/hook-weight``. A hook may
have ``metadata.generateName`` instead of a name: each run creates a new object.

Argo CD ignores a hook phase or deletion policy it does not know; fleetsync refuses it
(``PlanError`` naming the object and the annotation), so that a typo does not quietly
turn a migration Job into an ordinary resource.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from engine.errors import PlanError

HOOK = "argocd.argoproj.io/hook"
DELETE_POLICY = "argocd.argoproj.io/hook-delete-policy"
HELM_HOOK = "helm.sh/hook"
HELM_DELETE_POLICY = "helm.sh/hook-delete-policy"
HELM_WEIGHT = "helm.sh/hook-weight"


class Phase(StrEnum):
    """A sync phase that runs hooks, in the order a sync runs them (SyncFail on failure)."""

    PRE_SYNC = "PreSync"
    SYNC = "Sync"
    POST_SYNC = "PostSync"
    SYNC_FAIL = "SyncFail"


class DeletePolicy(StrEnum):
    """When a hook's object is deleted."""

    BEFORE_CREATION = "BeforeHookCreation"
    SUCCEEDED = "HookSucceeded"
    FAILED = "HookFailed"


PHASE_ORDER = {phase: index for index, phase in enumerate(Phase)}
_PHASES = {phase.value for phase in Phase}
_POLICIES = {policy.value for policy in DeletePolicy}
SKIP = "Skip"
POST_DELETE = "PostDelete"
_HELM_PHASES = {"pre-install": Phase.PRE_SYNC, "pre-upgrade": Phase.PRE_SYNC,
                "post-install": Phase.POST_SYNC, "post-upgrade": Phase.POST_SYNC}  # fmt: skip
_HELM_POLICIES = {"before-hook-creation": DeletePolicy.BEFORE_CREATION,
                  "hook-succeeded": DeletePolicy.SUCCEEDED,
                  "hook-failed": DeletePolicy.FAILED}  # fmt: skip


@dataclass(frozen=True)
class Hook:
    """What the annotations make of an object: the phases it runs in (none: it is never
    applied) and when it is deleted."""

    phases: frozenset[Phase]
    delete: frozenset[DeletePolicy]


def hook_of(obj: Mapping[str, Any], where: Callable[[], str]) -> Hook | None:
    """The object's hook, or None for an ordinary resource; ``where()`` names the object in
    errors (asked only then: most objects are no hook)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if HOOK in annotations:
        values = _csv(annotations[HOOK])
        unknown = sorted(set(values) - {*Phase, SKIP, POST_DELETE})
        if unknown or not values:
            raise PlanError(f"{where()}: annotation {HOOK}: {unknown[0] if unknown else ''!r} is "
                            f"not a hook phase (one of {', '.join([*Phase, SKIP, POST_DELETE])})")
        phases = frozenset(Phase(v) for v in values if v in _PHASES)
    elif HELM_HOOK in annotations:
        phases = frozenset(_HELM_PHASES[v] for v in _csv(annotations[HELM_HOOK])
                           if v in _HELM_PHASES)  # fmt: skip
    else:
        return None
    return Hook(phases, _delete_policies(annotations, where))


def hook_wave(obj: Mapping[str, Any], wave: int, where: Callable[[], str]) -> int:
    """A hook's wave: its sync wave (``wave``) when annotated, else Helm's hook weight;
    ``where()`` names the object in errors, as for ``hook_of``."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    if any(a.endswith("/sync-wave") for a in annotations) or HELM_WEIGHT not in annotations:
        return wave
    try:
        return int(str(annotations[HELM_WEIGHT]).strip())
    except ValueError:
        raise PlanError(f"{where()}: annotation {HELM_WEIGHT}: "
                        f"{annotations[HELM_WEIGHT]!r} is not an integer") from None


def _delete_policies(annotations: Mapping[str, Any],
                     where: Callable[[], str]) -> frozenset[DeletePolicy]:  # fmt: skip
    found = set()
    for value in _csv(annotations.get(DELETE_POLICY)):
        if value not in _POLICIES:
            raise PlanError(f"{where()}: annotation {DELETE_POLICY}: {value!r} is not a hook "
                            f"deletion policy (one of {', '.join(DeletePolicy)})")
        found.add(DeletePolicy(value))
    found |= {_HELM_POLICIES[v] for v in _csv(annotations.get(HELM_DELETE_POLICY))
              if v in _HELM_POLICIES}  # fmt: skip
    return frozenset(found or {DeletePolicy.BEFORE_CREATION})


def _csv(value: Any) -> list[str]:
    return [part.strip() for part in str(value or "").split(",") if part.strip()]
