"""Where ``$(VAR)`` references are replaced by default: kustomize's ``varReference``."""

from __future__ import annotations

from engine.render.fieldspecs import FieldSpec

_CONTAINER_FIELDS = ("args", "command", "env/value", "volumeMounts/mountPath")


def _pod_fields(kind: str, pod: str, volumes: str) -> tuple[FieldSpec, ...]:
    """Container and NFS-volume fields of the pod spec at ``pod`` in objects of ``kind``."""
    return (
        *(FieldSpec(f"{pod}/{containers}/{leaf}", kind=kind)
          for containers in ("containers", "initContainers") for leaf in _CONTAINER_FIELDS),
        FieldSpec(f"{volumes}/volumes/nfs/server", kind=kind),
    )


VAR_REFERENCES: tuple[FieldSpec, ...] = (
    *_pod_fields("CronJob", "spec/jobTemplate/spec/template/spec",
                 "spec/jobTemplate/spec/template"),
    *(s for kind in ("DaemonSet", "Deployment", "Job", "ReplicaSet")
      for s in _pod_fields(kind, "spec/template/spec", "spec/template/spec")),
    FieldSpec("spec/template/metadata/annotations", kind="Deployment"),
    FieldSpec("spec/rules/host", kind="Ingress"),
    FieldSpec("spec/tls/hosts", kind="Ingress"),
    FieldSpec("spec/tls/secretName", kind="Ingress"),
    *_pod_fields("Pod", "spec", "spec"),
    FieldSpec("spec/ports/port", kind="Service"),
    FieldSpec("spec/ports/targetPort", kind="Service"),
    *_pod_fields("StatefulSet", "spec/template/spec", "spec/template/spec")[:-1],
    FieldSpec("spec/volumeClaimTemplates/spec/nfs/server", kind="StatefulSet"),
    FieldSpec("spec/nfs/server", kind="PersistentVolume"),
    FieldSpec("metadata/labels"),
    FieldSpec("metadata/annotations"),
)
