"""Identities of resources: group/version/kind and (gvk, namespace, name)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Kinds kustomize knows to be cluster-scoped, with their API group (a custom resource of the
# same kind in another group is namespaced): the same set as the hub's built-in table.
from engine.kinds import CLUSTER_SCOPED


@dataclass(frozen=True)
class Gvk:
    """An API group, version and kind."""

    group: str
    version: str
    kind: str

    @staticmethod
    def of(obj: dict[str, Any]) -> Gvk:
        """The gvk of an object, from its apiVersion and kind."""
        api_version = str(obj.get("apiVersion") or "")
        group, _, version = api_version.rpartition("/")
        return Gvk(group, version, str(obj.get("kind") or ""))

    @property
    def api_version(self) -> str:
        """The apiVersion string of this gvk."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def cluster_scoped(self) -> bool:
        """Whether objects of this group and kind have no namespace."""
        return (self.group, self.kind) in CLUSTER_SCOPED

    def selected_by(self, selector: Gvk) -> bool:
        """Whether every non-empty field of ``selector`` equals this gvk's."""
        return (
            (not selector.group or selector.group == self.group)
            and (not selector.version or selector.version == self.version)
            and (not selector.kind or selector.kind == self.kind)
        )

    def __str__(self) -> str:
        return ".".join((self.kind or "[noKind]", self.version or "[noVer]",
                         self.group or "[noGrp]"))


@dataclass(frozen=True)
class ResId:
    """The identity of a resource: gvk, namespace and name."""

    gvk: Gvk
    name: str
    namespace: str = ""

    @property
    def effective_namespace(self) -> str:
        """The namespace, with "" meaning "default" for namespaced kinds."""
        if self.gvk.cluster_scoped:
            return ""
        return self.namespace or "default"

    def same_as(self, other: ResId) -> bool:
        """Equality the way kustomize compares ids ("" and "default" are one namespace)."""
        return (self.gvk == other.gvk and self.name == other.name
                and self.effective_namespace == other.effective_namespace)

    def __str__(self) -> str:
        ns = f"[{self.namespace}]" if self.namespace else "[noNs]"
        return f"{self.gvk}/{self.name}.{ns}"
