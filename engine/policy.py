"""AppProject policy: may this target deploy these objects? (pure)

``check`` returns every ``Violation`` at once; the caller blocks the whole sync of the
(app, cluster) pair when the list is not empty and applies nothing. The rules are Argo
CD's, evaluated as Argo CD evaluates them:

- ``sourceRepos``: globs over the normalised repository URL (lower case, no ``.git``,
  scp-like SSH written with ``/``), ``*`` not crossing ``/`` except as ``**``; ``*`` alone
  allows all. A ``!pattern`` that matches the repository denies it, whatever else allows.
- ``destinations``: globs over server URL, cluster name and namespace; an entry allows a
  destination when its server or name and its namespace match. A ``!`` pattern matches
  everything else, and denies the destination it names. The cluster registered as the
  default one answers to ``https://kubernetes.default.svc`` as well as to its own URL; a
  deny under either URL wins. Every namespaced object's namespace must be allowed too. A
  namespace that is not a DNS-1123 label is a violation of its own (``InvalidNamespace``)
  and never matches a glob.
- Cluster-scoped kinds are denied unless ``clusterResourceWhitelist`` has them (the
  default project whitelists ``*/*``); ``clusterResourceBlacklist`` removes from that.
  Namespaced kinds are allowed when ``namespaceResourceWhitelist`` is absent, or lists
  them, and ``namespaceResourceBlacklist`` does not. Group and kind are globs.

Whether a kind is namespaced is ``engine.kinds.scope_lookup``'s answer: ``is_namespaced``
(the cluster's discovery), then the built-in table of Kubernetes kinds, then
CustomResourceDefinitions among the objects (which cannot redefine a built-in kind). A kind
known to none of them is taken as namespaced when the object names a namespace, and as
cluster-scoped otherwise: the stricter reading, so that it must pass
``clusterResourceWhitelist`` (the plan places such an object in the destination
namespace, which ``check_target`` has already allowed).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from engine.apps.project import AppProject, KindRule
from engine.apps.targets import AppTarget, ClusterInfo
from engine.kinds import Scope, scope_lookup
from engine.model import PolicyRule, ResourceKey
from engine.names import namespace_problem
from engine.redaction import redact_url, without_userinfo

NamespacedLookup = Scope

@dataclass(frozen=True)
class Violation:
    """One broken project rule; ``key`` is None for rules about the app itself."""

    rule: PolicyRule
    key: ResourceKey | None
    message: str


def check(
    project: AppProject,
    target: AppTarget,
    objects: Sequence[Mapping[str, Any]],
    *,
    cluster: ClusterInfo,
    is_namespaced: NamespacedLookup | None = None,
) -> list[Violation]:
    """Every rule of ``project`` that ``target`` and its desired ``objects`` break."""
    violations = check_target(project, target, cluster=cluster)
    # Each object: its kind, and the namespace it lands in.
    scope = scope_lookup(objects, is_namespaced)
    for obj in objects:
        violations.extend(_object_violations(project, target, cluster, obj, scope))
    return violations


def check_target(project: AppProject, target: AppTarget, *, cluster: ClusterInfo
                 ) -> list[Violation]:
    """The rules about the app itself: its repository and its destination.

    These need no Git access, so the hub checks them before it contacts the repository:
    an Application author must not make the hub fetch from a repository (or address) that
    the project forbids.
    """
    violations = []
    repos = dict.fromkeys([target.repo_url, *(s.repo_url for s in target.options.sources)])
    for repo in repos:
        if not source_permitted(project, repo):
            violations.append(
                Violation(
                    PolicyRule.SOURCE_REPOS,
                    None,
                    f"repository {redact_url(repo)} is not permitted in "
                    f"project {project.name} (sourceRepos)",
                )
            )
    problem = _namespace_problem(target.namespace)
    if problem is not None:
        violations.append(
            Violation(PolicyRule.INVALID_NAMESPACE, None, f"destination namespace {problem}")
        )
    elif not destination_permitted(project, cluster, target.namespace):
        violations.append(
            Violation(
                PolicyRule.DESTINATIONS,
                None,
                _destination_message(project, cluster, target.namespace, "destination namespace"),
            )
        )
    return violations


def source_permitted(project: AppProject, repo_url: str) -> bool:
    """Whether ``project.sourceRepos`` allows ``repo_url``."""
    repo = _normal_repo(repo_url)
    allowed = False
    for pattern in project.source_repos:
        deny = pattern.startswith("!")
        normal = ("!" if deny else "") + _normal_repo(pattern.removeprefix("!"))
        if _glob(normal, repo, negation=True, separator="/"):
            allowed = True
        elif deny:
            return False
    return allowed


def destination_permitted(project: AppProject, cluster: ClusterInfo, namespace: str) -> bool:
    """Whether ``project.destinations`` allows ``namespace`` on ``cluster``.

    A namespace Kubernetes would refuse is never allowed: ``team-a*`` must not take
    ``team-a/../kube-system``.
    """
    if _namespace_problem(namespace) is not None:
        return False
    outcomes = [
        _destination_outcome(project, server, cluster.name, namespace)
        for server in cluster.servers or ("",)
    ]
    return "denied" not in outcomes and "allowed" in outcomes


def kind_permitted(
    project: AppProject, key: ResourceKey, *, namespaced: bool
) -> PolicyRule | None:
    """None if the kind of ``key`` is allowed, else the list that forbids it."""
    if namespaced:
        white = project.namespace_whitelist
        if white is not None and not _listed(white, key, named=False):
            return PolicyRule.NAMESPACE_RESOURCE_WHITELIST
        if _listed(project.namespace_blacklist, key, named=False):
            return PolicyRule.NAMESPACE_RESOURCE_BLACKLIST
        return None
    if not _listed(project.cluster_whitelist, key, named=True):
        return PolicyRule.CLUSTER_RESOURCE_WHITELIST
    if _listed(project.cluster_blacklist, key, named=True):
        return PolicyRule.CLUSTER_RESOURCE_BLACKLIST
    return None


def _object_violations(
    project: AppProject,
    target: AppTarget,
    cluster: ClusterInfo,
    obj: Mapping[str, Any],
    scope: NamespacedLookup,
) -> list[Violation]:
    key = ResourceKey.of(dict(obj))
    namespaced = scope(key.group, key.kind)
    if namespaced is None:
        namespaced = bool(key.namespace)
    # The key as applied: namespaced objects land in the destination namespace by default.
    namespace = (key.namespace or target.namespace) if namespaced else ""
    key = ResourceKey(key.group, key.kind, namespace, key.name)
    found = []
    rule = kind_permitted(project, key, namespaced=namespaced)
    if rule is not None:
        verb = "is not in" if rule.endswith("Whitelist") else "is in"
        found.append(
            Violation(
                rule,
                key,
                f"{_describe(key)}: "
                f"{'namespaced' if namespaced else 'cluster-scoped'} kind "
                f"{_group_kind(key)} {verb} the {rule} of project "
                f"{project.name}",
            )
        )
    # The destination namespace itself is check_target's to report.
    if not namespaced or namespace == target.namespace:
        return found
    problem = _namespace_problem(namespace)
    if problem is not None:
        found.append(
            Violation(PolicyRule.INVALID_NAMESPACE, key,
                      f"{key.kind} {key.name}: namespace {problem}")
        )
    elif not destination_permitted(project, cluster, namespace):
        found.append(
            Violation(
                PolicyRule.DESTINATIONS,
                key,
                f"{_describe(key)}: "
                + _destination_message(project, cluster, namespace, "namespace"),
            )
        )
    return found


def _namespace_problem(namespace: str) -> str | None:
    """Why a non-empty ``namespace`` is not a DNS-1123 label; None if it is (or is empty)."""
    return namespace_problem(namespace) if namespace else None


def _destination_outcome(project: AppProject, server: str, name: str, namespace: str) -> str:
    """Argo CD's destination match for one server URL: allowed, denied or none."""
    outcome = "none"
    for rule in project.destinations:
        name_ok = bool(name) and _glob(rule.name, name, negation=True)
        server_ok = bool(server) and _glob(rule.server, server, negation=True)
        namespace_ok = _glob(rule.namespace, namespace, negation=True)
        if (server_ok or name_ok) and namespace_ok:
            outcome = "allowed"
        elif (
            _denies(rule.name, name_ok)
            or (_denies(rule.server, server_ok) and namespace_ok)
            or (_denies(rule.namespace, namespace_ok) and server_ok)
        ):
            return "denied"
    return outcome


def _denies(pattern: str, matched: bool) -> bool:
    """A ``!`` pattern that did not let the value through names it: a deny."""
    return pattern.startswith("!") and not matched


def _listed(rules: Iterable[KindRule], key: ResourceKey, *, named: bool) -> bool:
    for rule in rules:
        kind_ok = _glob(rule.kind, key.kind, separator="/")
        group_ok = kind_ok and _glob(rule.group, key.group, separator="/")
        name_ok = not named or not rule.name or _glob(rule.name, key.name, separator="/")
        if kind_ok and group_ok and name_ok:
            return True
    return False


@lru_cache(maxsize=4096)  # each reconcile asks again for its repository and the patterns
def _normal_repo(url: str) -> str:
    """Argo CD's normalisation of a repository URL for comparison.

    Credentials written in the URL say who reads, not which repository: they are removed
    before matching (a ``sourceRepos`` pattern never has to spell out a token).
    """
    url = without_userinfo(url.strip()).lower()
    if re.match(r"^(ssh://)?([^/:]*?)@[^@]+$", url) and not url.startswith("ssh://"):
        url = url.replace(":", "/", 1)
    return url.removesuffix(".git").removeprefix("ssh://")


def _glob(pattern: str, value: str, *, negation: bool = False, separator: str = "") -> bool:
    """Glob match: ``*``, ``**``, ``?``, ``[a-z]``, ``[!a]``, ``{a,b}``; ``!`` negates."""
    if negation and pattern.startswith("!"):
        return not _glob(pattern[1:], value, separator=separator)
    if pattern == "*":
        return True
    compiled = _compile(pattern, separator)
    return compiled is not None and compiled.fullmatch(value) is not None


@lru_cache(maxsize=4096)
def _compile(pattern: str, separator: str) -> re.Pattern[str] | None:
    """The regular expression of a glob; None if the glob is malformed (matches nothing)."""
    one = f"[^{re.escape(separator)}]" if separator else "."
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            double = pattern.startswith("**", i)
            out.append(".*" if double else one + "*")
            i += 2 if double else 1
            continue
        if char == "?":
            out.append(one)
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        elif char == "[":
            end = pattern.find("]", i + 2)
            if end < 0:
                return None
            body = pattern[i + 1 : end]
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
            i = end
        elif char == "{":
            end = pattern.find("}", i)
            if end < 0:
                return None
            choices = pattern[i + 1 : end].split(",")
            out.append("(?:" + "|".join(re.escape(c) for c in choices) + ")")
            i = end
        else:
            out.append(re.escape(char))
        i += 1
    try:
        return re.compile("".join(out), re.DOTALL)
    except re.error:
        return None


def _describe(key: ResourceKey) -> str:
    where = f" in namespace {key.namespace}" if key.namespace else ""
    return f"{key.kind} {key.name}{where}"


def _group_kind(key: ResourceKey) -> str:
    return f"{key.group}/{key.kind}" if key.group else key.kind


def _destination_message(
    project: AppProject, cluster: ClusterInfo, namespace: str, what: str
) -> str:
    shown = namespace or '""'
    return (
        f"{what} {shown} on cluster {cluster.name} ({redact_url(cluster.server)}) is not "
        f"permitted in project {project.name} (destinations)"
    )
