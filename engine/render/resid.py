"""Identities of resources: group/version/kind and (gvk, namespace, name)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Kinds kustomize knows to be cluster-scoped, with their API group (a custom resource of the
# same kind in another group is namespaced): the same set as the hub's built-in table.
from engine.kinds import CLUSTER_SCOPED

MAX_KNOWN = 4096  # gvks remembered by (apiVersion, kind); a repository may name any number


@dataclass(frozen=True)
class Gvk:
    """An API group, version and kind."""

    group: str
    version: str
    kind: str

    @staticmethod
    def of(obj: dict[str, Any]) -> Gvk:
        """The gvk of an object, from its apiVersion and kind."""
        fields = (str(obj.get("apiVersion") or ""), str(obj.get("kind") or ""))
        found = _KNOWN.get(fields)
        if found is None:
            group, _, version = fields[0].rpartition("/")
            found = Gvk(group, version, fields[1])
            if len(_KNOWN) < MAX_KNOWN:
                _KNOWN[fields] = found
        return found

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


# A render asks for the gvk of each object many times (each transformer, each id): one
# frozen Gvk per (apiVersion, kind), shared by every render (it is immutable).
_KNOWN: dict[tuple[str, str], Gvk] = {}


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
