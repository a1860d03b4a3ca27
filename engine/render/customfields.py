"""The built-in transformers at field specs other than kustomize's defaults.

``transformers`` and ``nameref`` apply kustomize's default field specs. The functions here
serve the specs that ``configurations`` and ``crds`` add (taking the accumulated
``TransformerConfig``: the built-in runs with what is left of the defaults, then the same
change at the added specs, so that a render without configurations is untouched) and the
specs a built-in plugin config lists (``plugins``). The rules are kustomize's: a prefix is
not added to CRDs, APIServices and Namespaces; a namespace spec never writes
``metadata/namespace`` (that is always done) and writes ``metadata/name`` of ``v1``
objects only; a custom replicas field counts as a match for a ``replicas`` entry.
Defaults that a custom spec replaces (see ``configurations``) are dropped for name
prefixes and suffixes, labels and annotations; for namespaces, images and replicas the
built-in specs always apply.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.render import fieldspecs as fs
from engine.render import nameref, transformers
from engine.render.configurations import TransformerConfig
from engine.render.errors import RenderError
from engine.render.fieldspecs import FieldSpec
from engine.render.nameref import BackReference
from engine.render.resid import Gvk
from engine.render.resources import Resource, ResourceList
from engine.render.transformers import scalar_string

_NO_PREFIX = (Gvk("", "", "CustomResourceDefinition"),
              Gvk("apiregistration.k8s.io", "", "APIService"), Gvk("", "", "Namespace"))
_BINDINGS = ("RoleBinding", "ClusterRoleBinding")
_NAME = FieldSpec("metadata/name")


def _setter(value: Any, *, unset_only: bool = False) -> fs.Setter:
    def setter(container: dict[str, Any], key: str) -> None:
        if not unset_only or not container.get(key):
            container[key] = value
    return setter


def set_namespace(resources: ResourceList, namespace: str, config: TransformerConfig) -> None:
    """The namespace transformer: built-in, then at the added namespace specs."""
    transformers.set_namespace(resources, namespace)
    for res in resources:
        _namespace_specs(res, namespace, config.added("namespace"), unset_only=False)


def _namespace_specs(res: Resource, namespace: str, specs: tuple[FieldSpec, ...], *,
                     unset_only: bool) -> None:
    gvk = res.gvk
    for spec in specs:
        if spec.path == "metadata/namespace" or (
                spec.path == "metadata/name" and gvk.api_version != "v1") or (
                gvk.kind in _BINDINGS and spec.path == "subjects/namespace"):
            continue
        fs.apply_spec(res.obj, spec, _setter(namespace, unset_only=unset_only))


def namespace_at(resources: ResourceList, namespace: str, specs: tuple[FieldSpec, ...], *,
                 unset_only: bool, subjects: str) -> None:
    """kustomize's NamespaceTransformer plugin: ``metadata.namespace`` of namespaced
    objects, binding subjects (``defaultOnly``, ``allServiceAccounts`` or ``none``), then
    ``specs``; ``unset_only`` writes only where no namespace is set."""
    setter = _setter(namespace, unset_only=unset_only)
    for res in resources:
        if not res.obj:
            continue
        res.store_previous_id()
        if not res.gvk.cluster_scoped:
            setter(res.metadata, "namespace")
        if res.gvk.kind in _BINDINGS and subjects != "none":
            for subject in res.obj.get("subjects") or []:
                if isinstance(subject, dict) and (
                        subject.get("name") == "default" if subjects == "defaultOnly"
                        else subject.get("kind") == "ServiceAccount"):
                    setter(subject, "namespace")
        _namespace_specs(res, namespace, specs, unset_only=unset_only)
    resources.check_unique("namespace transformation")


def prefix_suffix(resources: ResourceList, prefix: str, suffix: str,
                  config: TransformerConfig) -> None:
    """Name prefix and suffix: the built-in renames (unless a custom spec replaced the
    default ``metadata/name``), then the other specs of each."""
    keeps = {name: config.keeps_default(name, _NAME) for name in ("namePrefix", "nameSuffix")}
    transformers.add_prefix_suffix(resources, prefix if keeps["namePrefix"] else "",
                                   suffix if keeps["nameSuffix"] else "")
    for name, affix in (("namePrefix", prefix), ("nameSuffix", suffix)):
        specs = tuple(s for s in config.effective(name) if s != _NAME)
        add_affix(resources, affix, specs, prefix=name == "namePrefix")


def add_affix(resources: ResourceList, affix: str, specs: tuple[FieldSpec, ...], *,
              prefix: bool, record_empty: bool = False) -> None:
    """Add a name prefix (or suffix) at ``specs``; a ``metadata/name`` spec renames.
    ``record_empty``: an empty affix is still recorded for name references, as a
    plugin's is in kustomize."""
    if not specs or not (affix or record_empty):
        return
    for res in resources:
        org = res.org_id.gvk
        if any(org.selected_by(skip) for skip in _NO_PREFIX):
            continue
        for spec in specs:
            if not spec.applies_to(org):
                continue
            if spec.path == "metadata/name":
                _rename(res, affix, prefix=prefix)
            elif affix:
                fs.apply_spec(res.obj, spec, _affixer(affix, prefix=prefix))


def _rename(res: Resource, affix: str, *, prefix: bool) -> None:
    (res.prefixes if prefix else res.suffixes).append(affix)
    if affix:
        res.store_previous_id()
        res.name = affix + res.name if prefix else res.name + affix


def _affixer(affix: str, *, prefix: bool) -> fs.Setter:
    def setter(container: dict[str, Any], key: str) -> None:
        value = scalar_string(container.get(key))
        container[key] = affix + value if prefix else value + affix
    return setter


def add_annotations(resources: ResourceList, annotations: dict[str, str],
                    config: TransformerConfig) -> None:
    """``commonAnnotations`` at the built-in places, or at the configured ones."""
    if "commonAnnotations" in config.specs:
        transformers.add_labels(resources, annotations, config.effective("commonAnnotations"))
    else:
        transformers.add_annotations(resources, annotations)


def set_images(resources: ResourceList, image: dict[str, Any],
               config: TransformerConfig) -> None:
    """One ``images`` entry: the built-in, then at the added image specs."""
    transformers.set_images(resources, image)
    retag_at(resources, image, config.added("images"))


def retag_at(resources: ResourceList, image: dict[str, Any],
             specs: tuple[FieldSpec, ...]) -> None:
    """Apply one ``images`` entry at the image fields ``specs`` reach (never in CRDs)."""
    if not specs:
        return

    def update(container: dict[str, Any], key: str) -> None:
        value = container.get(key)
        if isinstance(value, str):
            container[key] = _retag(value, image)

    for res in resources:
        if res.gvk.kind != "CustomResourceDefinition":
            fs.apply_specs(res.obj, specs, update)


def _retag(value: str, image: dict[str, Any]) -> str:
    """``value`` after the ``images`` entry, decided by the built-in transformer itself on
    the one container of a scratch Pod, so a custom field matches as a built-in one."""
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "scratch"},
           "spec": {"containers": [{"name": "c", "image": value}]}}
    transformers.set_images(ResourceList([Resource(pod)]), image)
    return str(pod["spec"]["containers"][0]["image"])  # type: ignore[index]


def set_replicas(resources: ResourceList, replica: dict[str, Any],
                 config: TransformerConfig) -> None:
    """One ``replicas`` entry: the built-in kinds, then the added replica specs; an error
    (the built-in's) only when neither has a resource of that name."""
    specs = config.added("replicas")
    built_in = bool(_named(resources, scalar_string(replica.get("name")), fs.REPLICAS))
    if built_in or not specs:
        transformers.set_replicas(resources, replica)
    if not replicas_at(resources, replica, specs) and not built_in:
        transformers.set_replicas(resources, replica)  # raises, naming the entry


def replicas_at(resources: ResourceList, replica: dict[str, Any],
                specs: tuple[FieldSpec, ...]) -> bool:
    """Set the count of one ``replicas`` entry at ``specs``; whether any object matched."""
    count = replica.get("count")
    if specs and (isinstance(count, bool) or not isinstance(count, int)):
        raise RenderError(f"replicas: count of {scalar_string(replica.get('name'))!r} must "
                          "be an integer")
    found = False
    for spec in specs:
        for res in _named(resources, scalar_string(replica.get("name")), (spec,)):
            found = True
            fs.apply_spec(res.obj, spec, _setter(count))
    return found


def _named(resources: ResourceList, name: str, specs: tuple[FieldSpec, ...]
           ) -> list[Resource]:
    return [r for r in resources if any(
        i.name == name and spec.applies_to(i.gvk) for i in r.all_ids() for spec in specs)]


def fix_references(resources: ResourceList, backrefs: tuple[BackReference, ...], *,
                   step: Callable[[str], None]) -> None:
    """Name references at the added back references (after ``nameref.fix_references``)."""
    renamed = [(r, r.cur_id) for r in resources if r.prev_ids]
    if not renamed or not backrefs:
        return
    for referrer in list(resources):
        step(referrer.source or "name references")
        org = referrer.org_id.gvk
        candidates: list[Resource] | None = None
        for backref in backrefs:
            for spec in backref.referrers:
                if not spec.applies_to(org):
                    continue
                if candidates is None:
                    candidates = nameref._could_be_referenced(renamed, referrer)
                updater = nameref._Updater(referrer, backref.target, candidates, spec)
                fs.apply_spec(referrer.obj, FieldSpec(spec.path), updater.visit)
