"""The ``AppProject`` document: what its Applications may deploy, from where, to where (pure).

Accepted as Argo CD writes it (``argoproj.io/v1alpha1``, or the same under
``fleetsync.io/v1alpha1``). fleetsync enforces ``sourceRepos``, ``destinations``,
``clusterResourceWhitelist``/``Blacklist`` and ``namespaceResourceWhitelist``/``Blacklist``
(see ``engine.policy``) and its ``roles`` (policies and groups, as RBAC subjects
``proj:<project>:<role>``, see ``engine.rbac``; their ``jwtTokens`` are not supported);
sync windows, signature keys and the other Argo CD fields are reported in
``AppProject.warnings`` and ignored.

As in Argo CD, an absent ``namespaceResourceWhitelist`` allows every namespaced kind while
an empty one (``[]``) allows none (``namespace_whitelist`` is then ``()`` rather than
None); cluster-scoped kinds are denied unless whitelisted. ``DEFAULT_PROJECT`` is the
``default`` project Argo CD creates (any repository, any destination, any kind); the hub
uses it for a ``default`` that no file defines only when ``fleetsync.yaml`` says
``implicitDefaultProject: true`` (see ``AppCatalog.project``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from engine.apps.application import API_VERSIONS, document_name
from engine.apps.fields import Fields
from engine.rbac import project_role_problem, project_subject

_SPEC_FIELDS = {
    "description",
    "sourceRepos",
    "destinations",
    "clusterResourceWhitelist",
    "clusterResourceBlacklist",
    "namespaceResourceWhitelist",
    "namespaceResourceBlacklist",
    "roles",
}
_ROLE_FIELDS = {"name", "description", "policies", "groups"}
_ROLE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


@dataclass(frozen=True)
class DestinationRule:
    """One ``destinations`` entry: globs over server URL, cluster name and namespace.

    A pattern starting with ``!`` denies what it matches.
    """

    server: str = ""
    name: str = ""
    namespace: str = ""


@dataclass(frozen=True)
class KindRule:
    """One entry of a resource white/black list: group and kind globs (cluster lists: name)."""

    group: str
    kind: str
    name: str = ""


@dataclass(frozen=True)
class ProjectRole:
    """One ``spec.roles`` entry: its policy lines and the groups that hold it."""

    name: str
    description: str = ""
    policies: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class AppProject:
    """One parsed AppProject."""

    name: str
    description: str = ""
    source_repos: tuple[str, ...] = ()
    destinations: tuple[DestinationRule, ...] = ()
    cluster_whitelist: tuple[KindRule, ...] = ()
    cluster_blacklist: tuple[KindRule, ...] = ()
    namespace_whitelist: tuple[KindRule, ...] | None = None
    namespace_blacklist: tuple[KindRule, ...] = ()
    namespace: str = ""
    source_file: str = ""
    warnings: tuple[str, ...] = ()
    roles: tuple[ProjectRole, ...] = ()

    def policy_lines(self) -> list[str]:
        """Its roles as RBAC lines: their policies, and a ``g`` line per group."""
        lines: list[str] = []
        for role in self.roles:
            lines.extend(role.policies)
            subject = project_subject(self.name, role.name)
            lines.extend(f"g, {group}, {subject}" for group in role.groups)
        return lines


DEFAULT_PROJECT = AppProject(
    name="default",
    description="Argo CD's default project: everything is allowed",
    source_repos=("*",),
    destinations=(DestinationRule(server="*", name="*", namespace="*"),),
    cluster_whitelist=(KindRule("*", "*"),),
)


def parse_project(doc: Mapping[str, Any], *, source: str) -> AppProject:
    """Validate one ``kind: AppProject`` document read from the file named ``source``."""
    name = document_name(doc, source, "AppProject")
    fields = Fields(source, f"AppProject {name}")
    if doc.get("apiVersion") not in API_VERSIONS:
        raise fields.error("apiVersion", f"must be one of {', '.join(API_VERSIONS)}")
    meta = fields.mapping(doc, "metadata", "")
    spec = fields.mapping(doc, "spec", "")
    fields.unsupported(spec, _SPEC_FIELDS, "spec")
    whitelist = None
    if spec.get("namespaceResourceWhitelist") is not None:
        whitelist = _kinds(spec, "namespaceResourceWhitelist", fields, named=False)
    project = AppProject(
        name=name,
        description=fields.string(spec, "description", "spec"),
        source_repos=fields.strings(spec, "sourceRepos", "spec"),
        destinations=_destinations(spec, fields),
        cluster_whitelist=_kinds(spec, "clusterResourceWhitelist", fields, named=True),
        cluster_blacklist=_kinds(spec, "clusterResourceBlacklist", fields, named=True),
        namespace_whitelist=whitelist,
        namespace_blacklist=_kinds(spec, "namespaceResourceBlacklist", fields, named=False),
        namespace=fields.string(meta, "namespace", "metadata"),
        source_file=source,
        roles=_roles(spec, name, fields),
    )
    return replace(project, warnings=tuple(fields.warnings))


def _roles(spec: Mapping[str, Any], project: str, fields: Fields) -> tuple[ProjectRole, ...]:
    roles: list[ProjectRole] = []
    for index, raw in enumerate(fields.items(spec, "roles", "spec")):
        path = f"spec.roles[{index}]"
        if not isinstance(raw, dict):
            raise fields.error(path, "must be a mapping with name, policies and groups")
        if "jwtTokens" in raw:
            fields.warn(f"{path}.jwtTokens", "(project role tokens) is not supported; ignored")
        fields.unsupported({k: v for k, v in raw.items() if k != "jwtTokens"}, _ROLE_FIELDS,
                           path)  # fmt: skip
        name = fields.required(raw, "name", path)
        if _ROLE_NAME.fullmatch(name) is None or name in {r.name for r in roles}:
            raise fields.error(f"{path}.name", f"{name!r} is not a new role name "
                                               "(letters, digits, '_', '.', '-')")
        policies = fields.strings(raw, "policies", path)
        for number, line in enumerate(policies):
            problem = project_role_problem(line, project=project, role=name)
            if problem:
                raise fields.error(f"{path}.policies[{number}]", problem)
        groups = fields.strings(raw, "groups", path)
        for number, group in enumerate(groups):
            if not group or "," in group or group != group.strip():
                raise fields.error(f"{path}.groups[{number}]", f"{group!r} is not a group name")
        roles.append(ProjectRole(name, fields.string(raw, "description", path), policies,
                                 groups))
    return tuple(roles)


def _destinations(spec: Mapping[str, Any], fields: Fields) -> tuple[DestinationRule, ...]:
    rules = []
    for index, raw in enumerate(fields.items(spec, "destinations", "spec")):
        path = f"spec.destinations[{index}]"
        if not isinstance(raw, dict):
            raise fields.error(path, "must be a mapping with server and/or name, and namespace")
        fields.unsupported(raw, {"server", "name", "namespace"}, path)
        rule = DestinationRule(
            server=fields.string(raw, "server", path),
            name=fields.string(raw, "name", path),
            namespace=fields.string(raw, "namespace", path),
        )
        if not (rule.server or rule.name):
            raise fields.error(path, "must name a server or a name (glob)")
        rules.append(rule)
    return tuple(rules)


def _kinds(
    spec: Mapping[str, Any], key: str, fields: Fields, *, named: bool
) -> tuple[KindRule, ...]:
    rules = []
    for index, raw in enumerate(fields.items(spec, key, "spec")):
        path = f"spec.{key}[{index}]"
        if not isinstance(raw, dict):
            raise fields.error(path, "must be a mapping with group and kind")
        fields.unsupported(raw, {"group", "kind"} | ({"name"} if named else set()), path)
        if not isinstance(raw.get("kind"), str):
            raise fields.error(f"{path}.kind", "is required")
        rules.append(
            KindRule(
                group=fields.string(raw, "group", path),
                kind=fields.string(raw, "kind", path),
                name=fields.string(raw, "name", path) if named else "",
            )
        )
    return tuple(rules)
