"""Where built-in transformers look inside objects: field specs and the walker.

A field spec names a slash-separated path (``\\/`` escapes a slash inside a key) and
the kinds it applies to. Lists met on the way are walked element by element
(``[]`` after a segment says so explicitly). ``create`` allows missing maps on the
path to be created; a segment marked ``[]`` is never created.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.render.resid import Gvk


@dataclass(frozen=True)
class FieldSpec:
    """A path inside objects of some kinds (empty group/version/kind match any)."""

    path: str
    kind: str = ""
    group: str = ""
    version: str = ""
    create: bool = False

    def applies_to(self, gvk: Gvk) -> bool:
        """Whether this spec selects objects of ``gvk``."""
        return gvk.selected_by(Gvk(self.group, self.version, self.kind))

    def segments(self) -> list[str]:
        """The path split on unescaped slashes."""
        parts = self.path.replace("\\/", "\0").split("/")
        return [p.replace("\0", "/") for p in parts]


Setter = Callable[[dict[str, Any], str], None]


def apply_spec(obj: dict[str, Any], spec: FieldSpec, setter: Setter) -> None:
    """Call ``setter(container, key)`` for every place ``spec`` reaches in ``obj``."""
    if spec.applies_to(Gvk.of(obj)):
        _walk(obj, spec.segments(), spec.create, setter)


def apply_specs(obj: dict[str, Any], specs: tuple[FieldSpec, ...], setter: Setter) -> None:
    """Apply each matching spec (each distinct path once)."""
    seen: set[str] = set()
    gvk = Gvk.of(obj)
    for spec in specs:
        if spec.applies_to(gvk) and spec.path not in seen:
            seen.add(spec.path)
            _walk(obj, spec.segments(), spec.create, setter)


def _walk(node: Any, segments: list[str], create: bool, setter: Setter) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, segments, create, setter)
        return
    if not isinstance(node, dict):
        return
    head, rest = segments[0], segments[1:]
    is_list = head.endswith("[]")
    if is_list:
        head = head[:-2]
    # As in kustomize, only maps are created: a missing ``x[]`` segment stays missing.
    create_here = create and not is_list
    if not rest:
        if head in node or create_here:
            setter(node, head)
        return
    child = node.get(head)
    if child is None:
        if not create_here:
            return
        child = node[head] = {}
    _walk(child, rest, create, setter)


def _specs(create: bool, path: str, *kinds: str) -> tuple[FieldSpec, ...]:
    """Specs for ``path`` in each of ``kinds`` written as ``group/kind`` or ``kind``."""
    out = []
    for qualified in kinds:
        group, _, kind = qualified.rpartition("/")
        out.append(FieldSpec(path, kind=kind, group=group, create=create))
    return tuple(out)


_WORKLOADS = ("Deployment", "ReplicaSet", "DaemonSet", "apps/StatefulSet", "batch/Job")

TEMPLATE_LABELS: tuple[FieldSpec, ...] = (
    FieldSpec("metadata/labels", create=True),
    FieldSpec("spec/template/metadata/labels", kind="ReplicationController", version="v1",
              create=True),
    *_specs(True, "spec/template/metadata/labels", *_WORKLOADS),
    *_specs(True, "spec/jobTemplate/metadata/labels", "batch/CronJob"),
    *_specs(True, "spec/jobTemplate/spec/template/metadata/labels", "batch/CronJob"),
)

VOLUME_CLAIM_LABELS: tuple[FieldSpec, ...] = _specs(
    True, "spec/volumeClaimTemplates[]/metadata/labels", "apps/StatefulSet")

_AFFINITY = (
    *(f"spec/template/spec/affinity/{kind}/{when}/labelSelector/matchLabels"
      for kind in ("podAffinity", "podAntiAffinity")
      for when in ("preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm",
                   "requiredDuringSchedulingIgnoredDuringExecution")),
    "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
)

SELECTOR_LABELS: tuple[FieldSpec, ...] = (
    FieldSpec("spec/selector", kind="Service", version="v1", create=True),
    FieldSpec("spec/selector", kind="ReplicationController", version="v1", create=True),
    *_specs(True, "spec/selector/matchLabels", "Deployment"),
    *(s for p in _AFFINITY for s in _specs(False, p, "apps/Deployment")),
    *_specs(True, "spec/selector/matchLabels", "ReplicaSet", "DaemonSet", "apps/StatefulSet"),
    *(s for p in _AFFINITY for s in _specs(False, p, "apps/StatefulSet")),
    *_specs(False, "spec/selector/matchLabels", "batch/Job"),
    *_specs(False, "spec/jobTemplate/spec/selector/matchLabels", "batch/CronJob"),
    *_specs(False, "spec/selector/matchLabels", "policy/PodDisruptionBudget"),
    *_specs(False, "spec/podSelector/matchLabels", "networking.k8s.io/NetworkPolicy"),
    *_specs(False, "spec/ingress/from/podSelector/matchLabels",
            "networking.k8s.io/NetworkPolicy"),
    *_specs(False, "spec/egress/to/podSelector/matchLabels", "networking.k8s.io/NetworkPolicy"),
)

COMMON_LABELS: tuple[FieldSpec, ...] = SELECTOR_LABELS + TEMPLATE_LABELS + VOLUME_CLAIM_LABELS

COMMON_ANNOTATIONS: tuple[FieldSpec, ...] = (
    FieldSpec("metadata/annotations", create=True),
    FieldSpec("spec/template/metadata/annotations", kind="ReplicationController",
              version="v1", create=True),
    *_specs(True, "spec/template/metadata/annotations", *_WORKLOADS),
    *_specs(True, "spec/jobTemplate/metadata/annotations", "batch/CronJob"),
    *_specs(True, "spec/jobTemplate/spec/template/metadata/annotations", "batch/CronJob"),
)

# kustomize declares these with create: true but never creates a missing image field.
IMAGES: tuple[FieldSpec, ...] = tuple(
    FieldSpec(f"{base}{leaf}")
    for base in ("spec/", "spec/template/spec/")
    for leaf in ("containers[]/image", "initContainers[]/image", "volumes[]/image/reference")
)

REPLICAS: tuple[FieldSpec, ...] = _specs(
    True, "spec/replicas", "Deployment", "ReplicationController", "ReplicaSet", "StatefulSet")

NAMESPACE_EXTRA: tuple[FieldSpec, ...] = (
    FieldSpec("spec/service/namespace", kind="APIService", group="apiregistration.k8s.io",
              create=True),
    FieldSpec("spec/conversion/webhook/clientConfig/service/namespace",
              kind="CustomResourceDefinition", group="apiextensions.k8s.io"),
)
