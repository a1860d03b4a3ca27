"""``buildMetadata``: where each object came from, what changed it, who built it.

The options of the *top* kustomization apply to the whole build (kustomize hands them
down to every kustomization it reaches):

- ``originAnnotations``: ``config.kubernetes.io/origin`` on each object, the path of the
  file it was read from (relative to the top, as the entries were written), or the
  kustomization and built-in generator that made it;
- ``transformerAnnotations``: ``alpha.config.kubernetes.io/transformations``, the list of
  built-in transformers configured in each kustomization the object went through, in
  kustomize's order (one entry per transformer kustomize configures: per ``patches``,
  ``images``, ``replicas``, ``patchesJson6902`` and ``labels`` entry; an extra label
  transformer for ``commonLabels`` whenever labels are set);
- ``managedByLabel``: ``app.kubernetes.io/managed-by: kustomize-<version>`` with the
  version of the kustomize binary this renderer follows.

With any option set, origins are tracked during the build (as annotations, as kustomize
does, so selectors see them); whatever was not asked for is removed at the end, and so
are those two annotations when a repository wrote them itself, as kustomize removes them.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from engine.render.errors import RenderError
from engine.render.loader import parse_documents
from engine.render.resources import Resource

ORIGIN = "config.kubernetes.io/origin"
TRANSFORMATIONS = "alpha.config.kubernetes.io/transformations"
MANAGED_BY = "app.kubernetes.io/managed-by"
# The kustomize release whose output the native renderer reproduces (clusters/local/go).
KUSTOMIZE_VERSION = "v5.7.1"
OPTIONS = ("originAnnotations", "transformerAnnotations", "managedByLabel")
_ORIGIN_FIELDS = ("path", "repo", "ref", "configuredIn", "configuredBy")
_GENERATORS = {"configMapGenerator": "ConfigMapGenerator", "secretGenerator": "SecretGenerator"}


@dataclass(frozen=True)
class Tracking:
    """The build's options and the top directory that origin paths are relative to."""

    options: frozenset[str]
    top: Path

    @staticmethod
    def of(options: Iterable[Any], top: Path, where: str) -> Tracking:
        """The tracking asked for by the top kustomization's ``buildMetadata``."""
        values = list(options)
        if not all(isinstance(v, str) for v in values):
            raise RenderError(f"{where}: buildMetadata entries must be strings")
        return Tracking(frozenset(values), top)

    @property
    def active(self) -> bool:
        """Whether origins are tracked (any option, even an unknown one, as kustomize)."""
        return bool(self.options)

    def relative(self, path: Path) -> str:
        """``path`` relative to the top kustomization's directory."""
        return os.path.normpath(os.path.relpath(path, self.top))

    def loaded(self, resources: Iterable[Resource], file: Path) -> None:
        """Mark objects read from ``file`` with their origin."""
        if self.active:
            text = _dump({"path": self.relative(file)})
            for res in resources:
                _annotations(res)[ORIGIN] = text

    def generated(self, res: Resource, kustomization: Path, field: str) -> None:
        """Mark an object made by a generator of the kustomization file ``kustomization``."""
        if self.active and ORIGIN not in res.annotations():
            _annotations(res)[ORIGIN] = _dump(self._configured(kustomization,
                                                               _GENERATORS[field]))

    def generated_by(self, res: Resource, config: Resource) -> None:
        """Mark an object made by a generator plugin with the plugin's origin."""
        origin = _plugin_origin(config)
        if self.active and origin is not None and ORIGIN not in res.annotations():
            _annotations(res)[ORIGIN] = _dump(origin)

    def transformed(self, resources: Iterable[Resource], kustomization: Path,
                    fields: dict[str, Any], plugins: Iterable[Resource] = ()) -> None:
        """Record the built-in transformers a kustomization configures, then its
        transformer plugins (those whose config has an origin), on every object."""
        if not self.active:
            return
        entries = [self._configured(kustomization, kind) for kind in transformer_kinds(fields)]
        entries += [o for o in map(_plugin_origin, plugins) if o is not None]
        if not entries:
            return
        for res in resources:
            annotations = _annotations(res)
            if ORIGIN not in annotations:  # a transformer made it: the first is its origin
                annotations[ORIGIN] = _dump(entries[0])
                rest = entries[1:]
            else:
                rest = entries
            if rest:
                done = _load(annotations.get(TRANSFORMATIONS), res)
                annotations[TRANSFORMATIONS] = _dump([*done, *rest])

    def _configured(self, kustomization: Path, kind: str) -> dict[str, Any]:
        return {"configuredIn": self.relative(kustomization),
                "configuredBy": {"apiVersion": "builtin", "kind": kind}}

    def finish(self, resources: Iterable[Resource]) -> None:
        """Drop what was not asked for; add the managed-by label if asked."""
        for res in resources:
            annotations = res.annotations()
            for option, key in (("originAnnotations", ORIGIN),
                                ("transformerAnnotations", TRANSFORMATIONS)):
                if option not in self.options and key in annotations:
                    del annotations[key]
                    if not annotations:
                        del res.metadata["annotations"]
            if "managedByLabel" in self.options:
                labels = res.metadata.get("labels")
                if not isinstance(labels, dict):
                    labels = res.metadata["labels"] = {}
                labels[MANAGED_BY] = f"kustomize-{KUSTOMIZE_VERSION}"


def transformer_kinds(fields: dict[str, Any]) -> list[str]:
    """The built-in transformers kustomize configures for a kustomization, in its order."""
    def count(name: str) -> int:
        value = fields.get(name)
        return len(value) if isinstance(value, list) else 0

    kinds = ["PatchStrategicMergeTransformer"] if count("patchesStrategicMerge") else []
    kinds += ["PatchTransformer"] * count("patches")
    kinds += ["NamespaceTransformer"] if fields.get("namespace") else []
    kinds += ["PrefixTransformer"] if fields.get("namePrefix") else []
    kinds += ["SuffixTransformer"] if fields.get("nameSuffix") else []
    if count("labels") or fields.get("commonLabels"):
        kinds += ["LabelTransformer"] * (count("labels") + 1)
    kinds += ["AnnotationsTransformer"] if fields.get("commonAnnotations") else []
    kinds += ["PatchJson6902Transformer"] * count("patchesJson6902")
    kinds += ["ReplicaCountTransformer"] * count("replicas")
    kinds += ["ImageTagTransformer"] * (count("images") + count("imageTags"))
    kinds += ["ReplacementTransformer"] if count("replacements") else []
    return kinds


def _plugin_origin(config: Resource) -> dict[str, Any] | None:
    """Where a plugin is configured: its config's own origin, and the config's id."""
    text = config.annotations().get(ORIGIN)
    if text is None:
        return None
    docs = parse_documents(str(text), f"{config.describe()}: annotation {ORIGIN}")
    origin = docs[0].value if docs and isinstance(docs[0].value, dict) else {}
    by = {"apiVersion": config.gvk.api_version, "kind": config.gvk.kind, "name": config.name,
          "namespace": config.namespace}
    result = {k: origin[k] for k in ("repo", "ref") if origin.get(k)}
    result["configuredIn"] = origin.get("path", "")
    result["configuredBy"] = {k: v for k, v in by.items() if v}
    return {k: v for k, v in result.items() if v}


def _annotations(res: Resource) -> dict[str, Any]:
    annotations = res.metadata.get("annotations")
    if not isinstance(annotations, dict):
        annotations = res.metadata["annotations"] = {}
    return annotations


def _dump(value: Any) -> str:
    """An origin (or a list of them) as kustomize marshals it: fields in its order."""
    return yaml.safe_dump(value, sort_keys=False, default_flow_style=False, allow_unicode=True)


def _load(text: Any, res: Resource) -> list[dict[str, Any]]:
    """The transformations recorded so far (kustomize keeps only the fields it knows);
    parsed with the renderer's guards, as a repository may have written the annotation."""
    if text is None:
        return []
    docs = parse_documents(str(text), f"{res.describe()}: annotation {TRANSFORMATIONS}")
    value = docs[0].value if docs else []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise RenderError(f"{res.describe()}: annotation {TRANSFORMATIONS} is not a list "
                          "of origins")
    return [{k: v[k] for k in _ORIGIN_FIELDS if v.get(k)} for v in value]
