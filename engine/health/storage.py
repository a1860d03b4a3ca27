"""Health of PersistentVolumeClaims by phase (pure)."""

from __future__ import annotations

from engine.health import fields
from engine.health.fields import Obj
from engine.health.result import HealthResult, degraded, healthy, progressing, unknown


def assess_pvc(obj: Obj) -> HealthResult:
    """Bound is Healthy, Pending Progressing, Lost Degraded."""
    spec = fields.spec(obj)
    phase = fields.text(fields.status(obj), "phase") or "Pending"
    volume = fields.text(spec, "volumeName")
    if phase == "Bound":
        return healthy(f"Bound to volume {volume}" if volume else "Bound")
    if phase == "Pending":
        storage_class = fields.text(spec, "storageClassName")
        where = f'storage class "{storage_class}"' if storage_class else "the default class"
        return progressing(
            f"Waiting for a volume from {where}; is a provisioner or a matching "
            "PersistentVolume available?"
        )
    if phase == "Lost":
        return degraded(f"The bound volume {volume or '(unnamed)'} is lost; its data is gone")
    return unknown(f"PersistentVolumeClaim phase is {phase}")
