"""The built-in field transformers: namespace, name prefix/suffix, labels,
annotations, images and replicas. Each takes the resources and its settings."""

from __future__ import annotations

from typing import Any

from engine.render import fieldspecs as fs
from engine.render import regex
from engine.render.errors import RenderError
from engine.render.fieldspecs import FieldSpec
from engine.render.resid import Gvk
from engine.render.resources import Resource, ResourceList

_TAG_AND_DIGEST = (
    r"(:[a-zA-Z0-9_.{}-]*)?(@[a-zA-Z0-9]+([.+_-][a-zA-Z0-9]+)*:[a-zA-Z0-9_.{}-]*)?$"
)


def as_string_map(value: Any, field: str) -> dict[str, str]:
    """A mapping of strings as kustomize reads label/annotation maps."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RenderError(f"{field}: expected a mapping")
    return {str(k): scalar_string(v) for k, v in value.items()}


def scalar_string(value: Any) -> str:
    """A YAML scalar as the string kustomize would read it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def set_namespace(resources: ResourceList, namespace: str) -> None:
    """Move namespaced objects into ``namespace`` (kustomize's NamespaceTransformer)."""
    for res in resources:
        if not res.obj:
            continue
        res.store_previous_id()
        gvk = res.gvk
        if not gvk.cluster_scoped:
            res.metadata["namespace"] = namespace
        if gvk.kind == "Namespace" and gvk.api_version == "v1":
            res.metadata["name"] = namespace
        if gvk.kind in ("RoleBinding", "ClusterRoleBinding"):
            _set_default_subjects(res.obj, namespace)
        for spec in fs.NAMESPACE_EXTRA:
            fs.apply_spec(res.obj, spec, _scalar_setter(namespace))
    resources.check_unique("namespace transformation")


def _set_default_subjects(obj: dict[str, Any], namespace: str) -> None:
    for subject in obj.get("subjects") or []:
        if isinstance(subject, dict) and subject.get("name") == "default":
            subject["namespace"] = namespace


def _scalar_setter(value: str) -> fs.Setter:
    def setter(container: dict[str, Any], key: str) -> None:
        container[key] = value
    return setter


# Never renamed by namePrefix/nameSuffix, as in kustomize: (group or "" for any, kind).
_KEEP_NAME = (("", "CustomResourceDefinition"), ("apiregistration.k8s.io", "APIService"),
              ("", "Namespace"))


def add_prefix_suffix(resources: ResourceList, prefix: str, suffix: str) -> None:
    """Prefix and suffix metadata.name of every object but CRDs, APIServices and
    Namespaces (of any group, judged by the original id), recording both."""
    for res in resources:
        org = res.org_id.gvk
        if any(org.selected_by(Gvk(group, "", kind)) for group, kind in _KEEP_NAME):
            continue
        if prefix:
            res.prefixes.append(prefix)
            res.store_previous_id()
            res.name = prefix + res.name
        if suffix:
            res.suffixes.append(suffix)
            res.store_previous_id()
            res.name = res.name + suffix


def add_labels(resources: ResourceList, labels: dict[str, str],
               specs: tuple[FieldSpec, ...]) -> None:
    """Add ``labels`` at every place ``specs`` reach (maps created where allowed)."""
    if labels:
        for res in resources:
            fs.apply_specs(res.obj, specs, _map_merger(labels))


def add_annotations(resources: ResourceList, annotations: dict[str, str]) -> None:
    """Add ``annotations`` to metadata and pod templates."""
    if annotations:
        for res in resources:
            fs.apply_specs(res.obj, fs.COMMON_ANNOTATIONS, _map_merger(annotations))


def _map_merger(values: dict[str, str]) -> fs.Setter:
    def setter(container: dict[str, Any], key: str) -> None:
        current = container.get(key)
        if not isinstance(current, dict):
            current = container[key] = {}
        current.update(values)
    return setter


def set_images(resources: ResourceList, image: dict[str, Any]) -> None:
    """Apply one ``images`` entry to every container image that names it."""
    name = scalar_string(image.get("name"))
    if not name:
        raise RenderError("images: an entry has no name")
    matcher = regex.matcher("^" + name + _TAG_AND_DIGEST, f"images: name {name!r}")

    def update(container: dict[str, Any], key: str) -> None:
        value = container.get(key)
        if isinstance(value, str) and matcher(value):
            container[key] = new_image(value, image)

    for res in resources:
        if res.gvk.kind != "CustomResourceDefinition":
            _walk_containers(res.obj, update)
        fs.apply_specs(res.obj, fs.IMAGES, _only_existing(update))


def _only_existing(setter: fs.Setter) -> fs.Setter:
    def guarded(container: dict[str, Any], key: str) -> None:
        if key in container:
            setter(container, key)
    return guarded


def _walk_containers(node: Any, update: fs.Setter) -> None:
    if isinstance(node, list):
        for item in node:
            _walk_containers(item, update)
    elif isinstance(node, dict):
        for key, value in node.items():
            _walk_containers(value, update)
            if key in ("containers", "initContainers") and isinstance(value, list):
                for container in value:
                    if isinstance(container, dict) and "image" in container:
                        update(container, "image")


def split_image(image: str) -> tuple[str, str, str]:
    """(name, tag, digest) of an image reference, as kustomize splits it."""
    slash = image.find("/")
    offset = slash if slash > 0 else 0
    search = image[offset:]
    at, colon = search.find("@"), search.find(":")
    if at < 0 and colon < 0:
        return image, "", ""
    if at >= 0 and (at < colon or colon < 0):
        return image[:offset + at], "", image[offset + at + 1:]
    if at >= 0 and colon >= 0:
        return (image[:offset + colon], image[offset + colon + 1:offset + at],
                image[offset + at + 1:])
    return image[:offset + colon], image[offset + colon + 1:], ""


def new_image(current: str, image: dict[str, Any]) -> str:
    """The image reference after applying newName/newTag/digest/tagSuffix."""
    name, tag, digest = split_image(current)
    new_name = scalar_string(image.get("newName"))
    new_tag = scalar_string(image.get("newTag"))
    new_digest = scalar_string(image.get("digest"))
    suffix = scalar_string(image.get("tagSuffix"))
    name = new_name or name
    if new_tag and new_digest:
        tag, digest = new_tag, new_digest
    elif new_tag:
        tag, digest = new_tag, ""
    elif new_digest:
        tag, digest = "", new_digest
    elif suffix:
        tag, digest = tag + suffix, ""
    return name + (f":{tag}" if tag else "") + (f"@{digest}" if digest else "")


def set_replicas(resources: ResourceList, replica: dict[str, Any]) -> None:
    """Set spec.replicas of the workloads named by one ``replicas`` entry."""
    name = scalar_string(replica.get("name"))
    count = replica.get("count")
    if isinstance(count, bool) or not isinstance(count, int):
        raise RenderError(f"replicas: count of {name!r} must be an integer")
    found = False
    for spec in fs.REPLICAS:
        target = Gvk(spec.group, spec.version, spec.kind)
        for res in resources:
            if any(i.name == name and i.gvk.selected_by(target) for i in res.all_ids()):
                found = True
                fs.apply_spec(res.obj, spec, _scalar_setter_any(count))
    if not found:
        raise RenderError(
            f"replicas: resource with name {name} does not match a config with the following "
            "GVK [Deployment ReplicationController ReplicaSet StatefulSet]"
        )


def _scalar_setter_any(value: Any) -> fs.Setter:
    def setter(container: dict[str, Any], key: str) -> None:
        container[key] = value
    return setter


def keep_resource(res: Resource) -> bool:
    """Whether a resource still has content (a ``$patch: delete`` empties it)."""
    return bool(res.obj)
