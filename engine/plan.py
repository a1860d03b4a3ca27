"""The sync plan of one (app, cluster): what to apply in which order, what to prune (pure).

Order, as Argo CD's gitops-engine sorts sync tasks: Namespaces and CustomResourceDefinitions
first (they join the earliest wave, so whatever needs them finds them), then by sync wave
(``fleetsync.io/sync-wave`` or ``argocd.argoproj.io/sync-wave``, an integer, default 0),
then by kind in Helm's install order (kinds it does not know go last), then by namespace
and name. Prunes come after every apply (Argo CD's ``PruneLast``), in reverse order.

The prune set is the previous inventory minus the desired objects. It is only a set of
*candidates*: before deleting, the caller checks on the live object that it still carries
this app's tracking id and no ``Prune=false`` sync option (``prune_decision``). Pruning is
held, never partly done, when the desired set is empty or when it would delete more than
a share of the inventory (default half) and the app does not allow it.

Whether a kind is namespaced is ``engine.kinds.scope_lookup``'s answer (the ``scope`` the
caller got from discovery, then CRDs among the objects, then the built-in table); a kind
none of them knows is placed in the destination namespace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from itertools import groupby
from typing import Any

from engine import names
from engine.errors import PlanError
from engine.hooks import PHASE_ORDER, DeletePolicy, Phase, hook_of, hook_wave
from engine.kinds import CRD_GROUP, CRD_KIND, Scope, scope_lookup
from engine.model import (
    MANAGED_BY_LABEL,
    MANAGED_BY_VALUE,
    TRACKING_ANNOTATION,
    ResourceKey,
    tracking_id,
)
from engine.model.inventory import Inventory

WAVE_ANNOTATIONS = ("fleetsync.io/sync-wave", "argocd.argoproj.io/sync-wave")
SYNC_OPTIONS_ANNOTATION = "argocd.argoproj.io/sync-options"
DEFAULT_PRUNE_SHARE = 0.5

# Helm's install order, which Argo CD uses within a wave; unknown kinds (custom resources)
# sort after all of these.
_KINDS = (
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "Ingress",
    "APIService",
)
KIND_ORDER = {kind: index for index, kind in enumerate(_KINDS)}


@dataclass(frozen=True)
class Step:
    """One object to apply, as it will be sent (namespace defaulted, tracking id added)."""

    key: ResourceKey
    api_version: str
    wave: int
    obj: Mapping[str, Any]


@dataclass(frozen=True)
class HookStep:
    """A hook to run in ``phase`` (``engine.hooks``): created then, never diffed, tracked
    in the inventory or pruned; ``generated``: it has a generateName, not a name (``key``
    carries the prefix), so each run creates a new object."""

    key: ResourceKey
    api_version: str
    phase: Phase
    wave: int
    obj: Mapping[str, Any]
    delete: frozenset[DeletePolicy]
    generated: bool = False


@dataclass(frozen=True)
class Wave:
    """The steps of one sync wave, in apply order."""

    number: int
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Plan:
    """Applies by wave, prune candidates, and why pruning is held (None: it may run)."""

    waves: tuple[Wave, ...]
    prune: tuple[ResourceKey, ...]
    held: str | None
    desired: Inventory
    previous: Inventory
    hooks: tuple[HookStep, ...] = ()

    def hooks_of(self, phase: Phase) -> tuple[HookStep, ...]:
        """The hooks of ``phase``, in run order (by wave, then as resources are ordered)."""
        return tuple(h for h in self.hooks if h.phase is phase)

    @property
    def steps(self) -> tuple[Step, ...]:
        """Every apply step, in order."""
        return tuple(step for wave in self.waves for step in wave.steps)

    def selected(self, keys: frozenset[ResourceKey]) -> Plan:
        """This plan cut to the objects of ``keys`` (Argo CD's selective sync; a key
        without a namespace names the object in any namespace): their applies and prunes
        only; what is desired and tracked stays as it is."""
        waves = tuple(Wave(w.number, tuple(s for s in w.steps if is_selected(s.key, keys)))
                      for w in self.waves)  # fmt: skip
        return replace(self, waves=tuple(w for w in waves if w.steps),
                       prune=tuple(k for k in self.prune if is_selected(k, keys)))


def is_selected(key: ResourceKey, keys: frozenset[ResourceKey]) -> bool:
    """Whether a selective sync of ``keys`` includes the object ``key``."""
    return key in keys or replace(key, namespace="") in keys


def sync_wave(obj: Mapping[str, Any]) -> int:
    """The object's sync wave (0 unless annotated)."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    for name in WAVE_ANNOTATIONS:
        if name in annotations:
            try:
                return int(str(annotations[name]).strip())
            except ValueError:
                raise PlanError(
                    f"{ResourceKey.of(dict(obj))}: {name}: {annotations[name]!r} is not an integer"
                ) from None
    return 0


def sync_options(obj: Mapping[str, Any]) -> frozenset[str]:
    """The ``argocd.argoproj.io/sync-options`` of an object, e.g. ``{"Prune=false"}``."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    raw = str(annotations.get(SYNC_OPTIONS_ANNOTATION) or "")
    return frozenset(part.strip() for part in raw.split(",") if part.strip())


def is_crd(key: ResourceKey) -> bool:
    """Whether ``key`` names a CustomResourceDefinition."""
    return key.group == CRD_GROUP and key.kind == CRD_KIND


def _leads(key: ResourceKey) -> bool:
    return is_crd(key) or (key.group == "" and key.kind == "Namespace")


def order_key(step: Step | HookStep) -> tuple[int, int, int, str, str]:
    """The comparison key of a step: wave, Namespaces/CRDs, kind order, namespace, name."""
    kind_rank = KIND_ORDER.get(step.key.kind, len(KIND_ORDER))
    lead = 0 if _leads(step.key) else 1
    return (step.wave, lead, kind_rank, step.key.namespace, step.key.name)


def tier(step: Step) -> tuple[int, int]:
    """The steps of a wave applied at once share a tier: Namespaces and CRDs, then each kind
    in ``KIND_ORDER`` (consecutive in ``order_key``'s order, so a wave splits by ``groupby``)."""
    return (0 if _leads(step.key) else 1, KIND_ORDER.get(step.key.kind, len(KIND_ORDER)))


def plan(
    *,
    app: str,
    objects: Iterable[Mapping[str, Any]],
    namespace: str,
    previous: Inventory,
    scope: Scope,
    prune_share: float = DEFAULT_PRUNE_SHARE,
    allow_large_prune: bool = False,
) -> Plan:
    """Plan the sync of ``objects`` for ``app`` into destination ``namespace``."""
    manifests = list(objects)
    scope_of = scope_lookup(manifests, scope)
    steps: dict[ResourceKey, Step] = {}
    hooks: list[HookStep] = []
    hook_keys: set[ResourceKey] = set()
    for obj in manifests:
        where = partial(names.describe, obj)
        hook = hook_of(obj, where)
        step = _step(app, obj, namespace, scope_of, hook=hook is not None)
        if step.key in steps or step.key in hook_keys:
            raise PlanError(f"{step.key}: declared twice")
        if hook is None:
            steps[step.key] = step
            continue
        wave = hook_wave(obj, step.wave, where)
        generated = not (obj.get("metadata") or {}).get("name")
        phases = sorted(hook.phases, key=lambda p: PHASE_ORDER[p])
        hooks.extend(HookStep(step.key, step.api_version, phase, wave, step.obj, hook.delete,
                              generated) for phase in phases)  # fmt: skip
        hook_keys.add(step.key)
    ordered = _with_leading_waves(list(steps.values()))
    waves = tuple(
        Wave(number, tuple(group))
        for number, group in groupby(sorted(ordered, key=order_key), key=lambda s: s.wave)
    )
    desired = Inventory({s.key: s.api_version for s in steps.values()})
    # A hook is never pruned, even one that was an ordinary resource before.
    candidates = previous.keys() - desired.keys() - hook_keys
    prune = tuple(sorted(candidates, key=prune_rank, reverse=True))
    held = prune_guard(
        previous=len(previous),
        desired=len(desired),
        prune=len(prune),
        share=prune_share,
        allow_large=allow_large_prune,
    )
    hooks.sort(key=lambda h: (PHASE_ORDER[h.phase], *order_key(h)))
    return Plan(waves=waves, prune=prune, held=held, desired=desired, previous=previous,
                hooks=tuple(hooks))


def prune_guard(
    *, previous: int, desired: int, prune: int, share: float, allow_large: bool
) -> str | None:
    """Why a prune of ``prune`` of ``previous`` objects must be held, or None."""
    if prune == 0:
        return None
    if desired == 0:
        return (
            f"the desired set is empty; {prune} object(s) to prune are kept "
            "(an empty render never prunes)"
        )
    if not allow_large and prune > share * previous:
        return (
            f"pruning {prune} of {previous} object(s) exceeds the limit of "
            f"{share:.0%} of the inventory; allow a large prune to proceed"
        )
    return None


def prune_decision(*, app: str, key: ResourceKey, live: Mapping[str, Any] | None) -> str | None:
    """None when the live object may be deleted, else why it must not be."""
    return _keep(app, key, live, "Prune=false")


def deletion_decision(*, app: str, key: ResourceKey, live: Mapping[str, Any] | None) -> str | None:
    """None when the deletion of ``app`` may delete the live object, else why not: as Argo
    CD, ``Delete=false`` keeps it (``Prune=false`` only stops pruning)."""
    return _keep(app, key, live, "Delete=false")


def _keep(app: str, key: ResourceKey, live: Mapping[str, Any] | None,
          option: str) -> str | None:  # fmt: skip
    """Why the live object must not be deleted (gone, not ``app``'s, or sync option
    ``option`` set), or None."""
    if live is None:
        return "already gone"
    if not is_tracked(app=app, key=key, live=live):
        annotations = (live.get("metadata") or {}).get("annotations") or {}
        return f"not tracked by {app} (tracking id {annotations.get(TRACKING_ANNOTATION)!r})"
    if option in sync_options(live):
        return f"sync option {option}"
    return None


def deletion_guard(*, deleting: int, apps: int, share: float) -> str | None:
    """Why the cascade deletion of ``deleting`` of ``apps`` Applications at once must be
    held, or None: one app at a time always proceeds, more than ``share`` of them never
    does by itself (an apps directory removed by mistake must not delete a fleet)."""
    if deleting <= 1 or deleting <= share * apps:
        return None
    return (f"deleting {deleting} of {apps} Applications at once exceeds the limit of "
            f"{share:.0%}; confirm each with fleetsync app delete, or restore their files")


def is_tracked(*, app: str, key: ResourceKey, live: Mapping[str, Any]) -> bool:
    """Whether the live object carries ``app``'s tracking id for ``key``."""
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    return bool(annotations.get(TRACKING_ANNOTATION) == tracking_id(app, key))


def prune_rank(key: ResourceKey) -> tuple[int, int, str, str]:
    """Sorted in reverse, the order to delete in: the reverse of the apply order within a
    wave, Namespaces and CRDs last."""
    return (
        1 if not _leads(key) else 0,
        KIND_ORDER.get(key.kind, len(KIND_ORDER)),
        key.namespace,
        key.name,
    )


def _with_leading_waves(steps: list[Step]) -> list[Step]:
    """Namespaces and CRDs move to the earliest wave, so later waves can rely on them."""
    if not steps:
        return steps
    first = min(s.wave for s in steps)
    return [Step(s.key, s.api_version, first, s.obj) if _leads(s.key) else s for s in steps]


def _step(app: str, obj: Mapping[str, Any], namespace: str, scope: Scope, *,
          hook: bool = False) -> Step:  # fmt: skip
    """The object as it will be sent; a hook may have a generateName (the key's name)."""
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    meta = dict(obj.get("metadata") or {})
    name = meta.get("name") or (meta.get("generateName") if hook else None)
    if not api_version or not kind or not name:
        raise PlanError(
            f"an object lacks apiVersion, kind or metadata.name: "
            f"{api_version}/{kind} {meta.get('name')!r}"
            + ("" if hook or not meta.get("generateName") else
               " (metadata.generateName is for hooks only)")
        )
    group = str(api_version).rpartition("/")[0]
    # A kind no one knows goes to the destination namespace (engine.kinds says why).
    if scope(group, str(kind)) is not False:
        meta["namespace"] = meta.get("namespace") or namespace
    else:
        meta.pop("namespace", None)
    key = ResourceKey(group, str(kind), str(meta.get("namespace") or ""), str(name))
    meta["annotations"] = {
        **(meta.get("annotations") or {}),
        TRACKING_ANNOTATION: tracking_id(app, key),
    }
    meta["labels"] = {**(meta.get("labels") or {}), MANAGED_BY_LABEL: MANAGED_BY_VALUE}
    sent = {**obj, "metadata": meta}
    return Step(key=key, api_version=str(api_version), wave=sync_wave(sent), obj=sent)
