"""Identities and status words shared by every part of the hub (pure).

``ResourceKey`` names one Kubernetes object; the tracking annotation
``fleetsync.io/tracking-id`` holds ``<app>:<group>/<kind>:<namespace>/<name>`` so that an
object can be traced back to the app that applied it, and pruning never touches an object
that does not carry this app's id. Status enums carry the exact strings users see, and so
do the words of a target's conditions: ``ConditionType``, ``ConditionReason`` and, for a
``PolicyViolation``, the ``PolicyRule`` broken.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

FIELD_MANAGER = "fleetsync"
TRACKING_ANNOTATION = "fleetsync.io/tracking-id"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY_VALUE = "fleetsync"


@dataclass(frozen=True, order=True)
class ResourceKey:
    """One object's identity: API group (``""`` for core), kind, namespace (``""``), name."""

    group: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: dict[str, Any]) -> ResourceKey:
        """The key of a manifest or live object."""
        api_version = str(obj.get("apiVersion") or "")
        group = api_version.rpartition("/")[0]
        meta = obj.get("metadata") or {}
        return cls(group, str(obj.get("kind") or ""), str(meta.get("namespace") or ""),
                   str(meta.get("name") or ""))

    def __str__(self) -> str:
        return f"{self.group}/{self.kind}:{self.namespace}/{self.name}"


@dataclass(frozen=True, order=True)
class TargetKey:
    """One (app, cluster) pair: the unit the hub reconciles, queues and reports on."""

    app: str
    cluster: str

    def __str__(self) -> str:
        return f"{self.app}@{self.cluster}"


def tracking_id(app: str, key: ResourceKey) -> str:
    """The tracking annotation value of ``key`` applied by ``app``."""
    return f"{app}:{key}"


def parse_tracking_id(value: str) -> tuple[str, ResourceKey] | None:
    """Split a tracking annotation value into (app, key); None if it is malformed."""
    app, sep, rest = value.partition(":")
    group_kind, sep2, ns_name = rest.partition(":")
    group, sep3, kind = group_kind.partition("/")
    namespace, sep4, name = ns_name.partition("/")
    if not (app and sep and sep2 and sep3 and sep4 and kind and name):
        return None
    return app, ResourceKey(group, kind, namespace, name)


class SyncStatus(StrEnum):
    """Whether the live state matches Git."""

    SYNCED = "Synced"
    OUT_OF_SYNC = "OutOfSync"
    UNKNOWN = "Unknown"


class HealthStatus(StrEnum):
    """How healthy an object or an app is, from best to worst by ``severity``."""

    HEALTHY = "Healthy"
    SUSPENDED = "Suspended"
    PROGRESSING = "Progressing"
    MISSING = "Missing"
    DEGRADED = "Degraded"
    UNKNOWN = "Unknown"

    @property
    def severity(self) -> int:
        """Rank used to aggregate: an app is as unhealthy as its worst object."""
        return _HEALTH_ORDER.index(self)


# Argo CD's order: Healthy < Suspended < Progressing < Missing < Degraded < Unknown.
_HEALTH_ORDER = list(HealthStatus)


class OperationPhase(StrEnum):
    """The outcome of one sync operation."""

    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    ERROR = "Error"


class ConditionType(StrEnum):
    """What a condition of a target is about: its ``type``, as users see it."""

    INVALID_SPEC = "InvalidSpecError"  # the Application or its project cannot be used
    POLICY_VIOLATION = "PolicyViolation"  # an AppProject rule forbids it (reason: PolicyRule)
    COMPARISON_ERROR = "ComparisonError"  # the desired state could not be read or compared
    SYNC_ERROR = "SyncError"  # the cluster could not be reached, or a step of a sync failed
    WARNING = "Warning"  # something in the Application was ignored; nothing is blocked


class ConditionReason(StrEnum):
    """Why, in one word a program can match: one per cause.

    ``engine.hub.failures`` chooses the reason of a failure before anything is applied,
    ``engine.apply`` those of the steps of a sync; a ``PolicyViolation`` names a
    ``PolicyRule`` instead.
    """

    # The Application's definition.
    INVALID_SPEC = "InvalidSpec"
    UNSUPPORTED_FIELD = "UnsupportedField"
    # The render: it holds no object, so nothing is deployed (a warning, not a failure).
    EMPTY_RENDER = "EmptyRender"
    # Before anything is applied.
    SOURCE_FAILED = "SourceFailed"
    RENDER_FAILED = "RenderFailed"
    CLUSTER_UNAVAILABLE = "ClusterUnavailable"
    CLUSTER_ERROR = "ClusterError"
    INVALID_CLUSTER = "InvalidCluster"
    RESOLVE_FAILED = "ResolveFailed"  # an error no other reason covers, by step
    CLUSTER_FAILED = "ClusterFailed"
    # The steps of a sync.
    PLAN_FAILED = "PlanFailed"
    APPLY_FAILED = "ApplyFailed"
    PRUNE_FAILED = "PruneFailed"
    PRUNE_HELD = "PruneHeld"
    HEALTH_CHECK_FAILED = "HealthCheckFailed"
    HOOK_FAILED = "HookFailed"  # a PreSync, Sync, PostSync or SyncFail hook failed


class PolicyRule(StrEnum):
    """The AppProject rule a ``PolicyViolation`` names as its reason (Argo CD's field names)."""

    SOURCE_REPOS = "sourceRepos"
    DESTINATIONS = "destinations"
    INVALID_NAMESPACE = "InvalidNamespace"  # a namespace Kubernetes would refuse
    CLUSTER_RESOURCE_WHITELIST = "clusterResourceWhitelist"
    CLUSTER_RESOURCE_BLACKLIST = "clusterResourceBlacklist"
    NAMESPACE_RESOURCE_WHITELIST = "namespaceResourceWhitelist"
    NAMESPACE_RESOURCE_BLACKLIST = "namespaceResourceBlacklist"
