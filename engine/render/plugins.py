"""``generators``, ``transformers`` and ``validators`` whose configs name built-in plugins.

A config is an object ``apiVersion: builtin`` whose kind names one of kustomize's
built-in plugins, with that plugin's settings (``prefix`` and ``fieldSpecs`` for a
``PrefixTransformer``, ``labels`` for a ``LabelTransformer``...). The configs come from
inline YAML, files, or kustomization directories (whose output is the list of configs).
Built-in transformers run after the kustomization's own, in order; generators after its
own generators; a validator must leave every object as it found it. Field specs are the
config's own (kustomize's defaults do not apply). Exec, container and Go plugins (any
other ``apiVersion``), and the built-ins ``HashTransformer``, ``ValueAddTransformer`` and
``HelmChartInflationGenerator``, are refused by name (``UnsupportedFieldError``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.render import customfields, generators, patches, transformers
from engine.render.configurations import parse_spec
from engine.render.errors import RenderError, UnsupportedFieldError
from engine.render.fieldspecs import FieldSpec
from engine.render.loader import parse_documents
from engine.render.replacements import apply_replacements, expand_entries, loaded_replacements
from engine.render.resources import Resource, ResourceList
from engine.render.transformers import as_string_map, scalar_string

BUILTIN = "builtin"
GENERATORS = ("ConfigMapGenerator", "SecretGenerator", "IAMPolicyGenerator")


@dataclass(frozen=True)
class Context:
    """What plugins need from the kustomization that configures them."""

    where: str  # the kustomization, for messages
    read: Callable[[str], tuple[str, str]]  # a file in its directory: (text, name)
    data: generators.DataSource  # generator inputs
    step: Callable[[str], None]  # the render's budget


def inline_configs(entry: str, source: str) -> list[dict[str, Any]] | None:
    """The configs written inline in an entry, or None when the entry is a path."""
    try:
        docs = [d.value for d in parse_documents(entry, source)]
    except RenderError:
        return None
    if docs and all(isinstance(d, dict) for d in docs):
        return docs
    return None


def _kind(config: Resource, ctx: Context) -> str:
    if config.gvk.api_version != BUILTIN:
        raise UnsupportedFieldError(
            f"{ctx.where}: plugin {config.gvk.api_version}/{config.gvk.kind} "
            f"{config.name!r} is not a built-in plugin (exec, container and Go plugins are "
            "not supported)")
    return config.gvk.kind


def _specs(config: dict[str, Any], where: str, *, required: bool = False
           ) -> tuple[FieldSpec, ...]:
    specs = config.get("fieldSpecs")
    if specs is None and required:
        raise RenderError(f"{where}: fieldSpecs is not expected to be nil")
    if specs is not None and not isinstance(specs, list):
        raise RenderError(f"{where}: fieldSpecs must be a list")
    return tuple(parse_spec(s, f"{where}: fieldSpecs", strict=False) for s in specs or [])


def transform(resources: ResourceList, config: Resource, ctx: Context) -> None:
    """Run one built-in transformer plugin on ``resources``."""
    kind, obj = _kind(config, ctx), config.obj
    where = f"{ctx.where}: {kind} {config.name!r}"
    ctx.step(where)
    if kind in ("PrefixTransformer", "SuffixTransformer", "PrefixSuffixTransformer"):
        specs = _specs(obj, where, required=True)
        if kind != "SuffixTransformer":
            customfields.add_affix(resources, scalar_string(obj.get("prefix")), specs,
                                   prefix=True, record_empty=True)
        if kind != "PrefixTransformer":
            customfields.add_affix(resources, scalar_string(obj.get("suffix")), specs,
                                   prefix=False, record_empty=True)
        resources.check_unique(where)
    elif kind in ("LabelTransformer", "AnnotationsTransformer"):
        field = "labels" if kind == "LabelTransformer" else "annotations"
        values = as_string_map(obj.get(field), f"{where}: {field}")
        if values:
            transformers.add_labels(resources, values, _specs(obj, where))
    elif kind == "NamespaceTransformer":
        _namespace(resources, obj, where)
    elif kind == "ImageTagTransformer":
        image = obj.get("imageTag") or {}
        transformers.set_images(resources, image)
        customfields.retag_at(resources, image, _specs(obj, where))
    elif kind == "ReplicaCountTransformer":
        specs = _specs(obj, where)
        replica = obj.get("replica") or {}
        if not customfields.replicas_at(resources, replica, specs):
            raise RenderError(f"{where}: resource with name "
                              f"{scalar_string(replica.get('name'))} does not match a config "
                              "with the given field specs")
    elif kind in ("PatchTransformer", "PatchStrategicMergeTransformer",
                  "PatchJson6902Transformer"):
        _patch(resources, kind, obj, where, ctx)
    elif kind == "ReplacementTransformer":
        entries = expand_entries(obj.get("replacements") or [], where,
                                 lambda path: _replacements_file(path, ctx))
        apply_replacements(resources, entries, step=ctx.step)
    else:
        raise UnsupportedFieldError(f"{where}: built-in plugin {kind} is not supported "
                                    "as a transformer")


def _namespace(resources: ResourceList, obj: dict[str, Any], where: str) -> None:
    meta = obj.get("metadata")
    namespace = scalar_string(meta.get("namespace")) if isinstance(meta, dict) else ""
    mode = scalar_string(obj.get("setRoleBindingSubjects")) or "defaultOnly"
    if mode not in ("defaultOnly", "none", "allServiceAccounts"):
        raise RenderError(f"{where}: invalid value {mode!r} for setRoleBindingSubjects: must "
                          "be one of 'defaultOnly', 'none' or 'allServiceAccounts'")
    if namespace:
        customfields.namespace_at(resources, namespace, _specs(obj, where),
                                  unset_only=bool(obj.get("unsetOnly")), subjects=mode)


def _patch(resources: ResourceList, kind: str, obj: dict[str, Any], where: str,
           ctx: Context) -> None:
    def text(inline: Any, path: Any) -> patches.PatchText:
        if path:
            content, source = ctx.read(scalar_string(path))
            return patches.PatchText(content, source)
        return patches.PatchText(scalar_string(inline).strip(), f"{where} (inline)")

    if kind == "PatchTransformer":
        if bool(obj.get("patch")) == bool(obj.get("path")):
            raise RenderError(f"{where}: must specify one of patch and path")
        patches.apply_patch_entry(resources, text(obj.get("patch"), obj.get("path")),
                                  obj.get("target"), obj.get("options") or {})
    elif kind == "PatchJson6902Transformer":
        target = obj.get("target") or {}
        if not isinstance(target, dict) or not target.get("name"):
            raise RenderError(f"{where}: must specify the target name")
        if bool(obj.get("jsonOp")) == bool(obj.get("path")):
            raise RenderError(f"{where}: must specify a file path or jsonOp, not both "
                              "nor neither")
        patches.apply_patch_entry(resources, text(obj.get("jsonOp"), obj.get("path")),
                                  target, {})
    else:
        paths = obj.get("paths") or []
        if not paths and not obj.get("patches"):
            raise RenderError(f"{where}: empty file path and empty patch content")
        for path in paths:
            patches.apply_patch_entry(resources, text(None, path), None, {},
                                      strategic_merge_field=True)
        if obj.get("patches"):
            patches.apply_patch_entry(resources, text(obj["patches"], None), None, {},
                                      strategic_merge_field=True)


def _replacements_file(path: str, ctx: Context) -> list[Any]:
    text, source = ctx.read(path)
    docs = parse_documents(text, source)
    return loaded_replacements(docs[0].value if docs else None, source)


def generate(config: Resource, ctx: Context) -> list[Resource]:
    """The objects one built-in generator plugin makes."""
    kind, obj = _kind(config, ctx), config.obj
    where = f"{ctx.where}: {kind} {config.name!r}"
    ctx.step(where)
    if kind in ("ConfigMapGenerator", "SecretGenerator"):
        args = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
        args.setdefault("name", config.name)
        if config.namespace and not args.get("namespace"):
            args["namespace"] = config.namespace
        made = generators.generate(args, kind.removesuffix("Generator"), None, ctx.data)
        return [made]
    if kind == "IAMPolicyGenerator":
        return [_iam_service_account(obj, where)]
    raise UnsupportedFieldError(f"{where}: built-in plugin {kind} is not supported as a "
                                "generator")


def _iam_service_account(obj: dict[str, Any], where: str) -> Resource:
    """The GKE workload-identity ServiceAccount kustomize's IAMPolicyGenerator makes."""
    if scalar_string(obj.get("cloud")) != "gke":
        raise RenderError(f"{where}: cloud provider {scalar_string(obj.get('cloud'))} not "
                          "supported yet")
    service = obj.get("kubernetesService") or {}
    account = obj.get("serviceAccount") or {}
    meta: dict[str, Any] = {
        "annotations": {"iam.gke.io/gcp-service-account":
                        f"{scalar_string(account.get('name'))}@"
                        f"{scalar_string(account.get('projectId'))}.iam.gserviceaccount.com"},
        "name": scalar_string(service.get("name"))}
    if scalar_string(service.get("namespace")):
        meta["namespace"] = scalar_string(service.get("namespace"))
    return Resource({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
                    source=where)


def validate(resources: ResourceList, config: Resource, ctx: Context) -> None:
    """Run a validator: a transformer that must change nothing (but its own label)."""
    trial = resources.copy()
    transform(trial, config, ctx)
    if [_unlabelled(r.obj) for r in trial] != [_unlabelled(r.obj) for r in resources]:
        raise RenderError(f"{ctx.where}: validator {config.name!r} shouldn't modify the "
                          "resource map")


def _unlabelled(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` without the ``validated-by`` label kustomize lets validators add."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        return obj
    labels = meta.get("labels")
    if not isinstance(labels, dict) or "validated-by" not in labels:
        return obj
    labels = {k: v for k, v in labels.items() if k != "validated-by"}
    return {**obj, "metadata": {**meta, "labels": labels}} if labels else {
        **obj, "metadata": {k: v for k, v in meta.items() if k != "labels"}}
