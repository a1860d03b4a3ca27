"""Health of apps/v1 StatefulSets: ready Pods, partitioned and OnDelete updates (pure)."""

from __future__ import annotations

from engine.health import fields
from engine.health.fields import Obj
from engine.health.result import HealthResult, healthy, progressing


def assess_statefulset(obj: Obj) -> HealthResult:
    """Progressing until every Pod is ready and the update its strategy allows is done."""
    if fields.integer(fields.status(obj), "observedGeneration") == 0 or not (
        fields.generation_observed(obj)
    ):
        return progressing(fields.not_observed_message(obj))
    wanted = fields.integer(fields.spec(obj), "replicas", default=1)
    ready = fields.integer(fields.status(obj), "readyReplicas")
    if ready < wanted:
        return progressing(f"Waiting for Pods to be ready: {ready} of {wanted} are ready...")
    return _update(obj, wanted)


def _update(obj: Obj, wanted: int) -> HealthResult:
    """How far the update is, as far as the update strategy lets it go by itself."""
    strategy = fields.section(fields.spec(obj), "updateStrategy")
    status = fields.status(obj)
    updated = fields.integer(status, "updatedReplicas")
    if strategy.get("type") == "OnDelete":
        return healthy(
            f"{wanted} Pods ready; {updated} run the latest revision (OnDelete: older Pods "
            "are replaced only when deleted)"
        )
    partition = fields.integer(fields.section(strategy, "rollingUpdate"), "partition")
    if partition > 0:
        target = max(wanted - partition, 0)
        if updated < target:
            return progressing(
                f"Waiting for partitioned rollout: {updated} of {target} Pods above "
                f"partition {partition} are updated..."
            )
        return healthy(f"Partitioned rollout done: {updated} Pods updated, partition {partition}")
    current, update = fields.text(status, "currentRevision"), fields.text(status, "updateRevision")
    if update and current != update:
        return progressing(
            f"Waiting for rolling update: {updated} of {wanted} Pods run revision {update}..."
        )
    return healthy(f"{wanted} Pods ready at revision {current or update or 'unknown'}")
