"""Who may do what: Argo CD's RBAC policy lines, evaluated for one user (pure).

The policy is Argo CD's ``policy.csv``::

    p, <subject>, <resource>, <action>, <object>, <allow|deny>
    g, <user or group>, <role>

Subjects are users, groups and roles (``role:team-a``); ``g`` lines give a user or group a
role, and a role other roles, transitively. A request is allowed when some rule of one of
the user's subjects matches it with ``allow`` and none matches with ``deny`` (deny wins,
as in Argo CD). Resource, action and object are glob patterns: ``*`` is any run of
characters (``/`` included, as in Argo CD), ``?`` any one character; nothing else is
special. Resources fleetsync asks about are ``RESOURCES`` (lines about others, such as
Argo CD's ``repositories`` or ``logs``, are accepted and never match). Objects are
``<project>/<app>`` for applications, the project's name for
projects, the cluster's name for clusters, the account's name for accounts, and ``*``
for metrics.

Built in, as in Argo CD: ``role:readonly`` (get everything), ``role:admin`` (everything),
and the ``admin`` account holds ``role:admin``. An AppProject's ``spec.roles`` add subjects
``proj:<project>:<role>`` whose lines may only speak of that project's applications
(``project_role_problem``); ``g`` lines (or the role's ``groups``) give them to users.
The default role applies to every user who logged in. Argo CD evaluates these lines with
casbin and a fixed model; fleetsync evaluates the same model directly (no expression
engine, a compiled pattern per rule).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from engine.errors import ConfigError

ADMIN_ACCOUNT = "admin"
ADMIN_ROLE = "role:admin"
READONLY_ROLE = "role:readonly"
RESOURCES = ("applications", "projects", "clusters", "accounts", "metrics")
ACTIONS = ("get", "create", "update", "delete", "sync", "override")
_BUILT_IN = (
    f"p, {ADMIN_ROLE}, *, *, *, allow",
    f"p, {READONLY_ROLE}, *, get, *, allow",
    f"g, {ADMIN_ACCOUNT}, {ADMIN_ROLE}",
)
MAX_LINES = 10_000
MAX_ROLE_DEPTH = 32


@dataclass(frozen=True)
class Rule:
    """One ``p`` line: whether ``subject`` may do ``action`` on ``resource`` ``object``."""

    subject: str
    resource: str
    action: str
    object: str
    allow: bool

    def matches(self, resource: str, action: str, obj: str) -> bool:
        """Whether this rule speaks of that request (whatever its effect)."""
        return (_pattern(self.resource).fullmatch(resource) is not None
                and _pattern(self.action).fullmatch(action) is not None
                and _pattern(self.object).fullmatch(obj) is not None)  # fmt: skip


@dataclass(frozen=True)
class Policy:
    """Parsed policy lines with the built-in roles, and the role everyone holds."""

    rules: Mapping[str, tuple[Rule, ...]]  # by subject
    roles: Mapping[str, frozenset[str]]  # subject -> roles given by ``g`` lines
    default_role: str = ""
    _closure: dict[frozenset[str], frozenset[str]] = field(
        default_factory=dict, compare=False, repr=False)

    @classmethod
    def parse(cls, text: str, *, default_role: str = "", where: str = "policy") -> Policy:
        """The policy of ``text`` (Argo CD's ``policy.csv``); ``ConfigError`` names the line
        (as ``where:line``) and the field of a line that is not valid."""
        return cls._of([*_BUILT_IN, *text.splitlines()], default_role, where,
                       first=1 - len(_BUILT_IN))  # fmt: skip

    def extended(self, text: str, *, where: str) -> Policy:
        """This policy with the lines of ``text`` added (AppProject roles, say)."""
        more = Policy._of(text.splitlines(), self.default_role, where, first=1)
        rules = {s: self.rules.get(s, ()) + more.rules.get(s, ())
                 for s in {*self.rules, *more.rules}}  # fmt: skip
        roles = {s: self.roles.get(s, frozenset()) | more.roles.get(s, frozenset())
                 for s in {*self.roles, *more.roles}}  # fmt: skip
        return Policy(rules, roles, self.default_role)

    @classmethod
    def _of(cls, lines: list[str], default_role: str, where: str, *, first: int) -> Policy:
        rules: defaultdict[str, list[Rule]] = defaultdict(list)
        roles: defaultdict[str, set[str]] = defaultdict(set)
        if len(lines) > MAX_LINES:
            raise ConfigError(f"{where}: more than {MAX_LINES} lines")
        for number, line in enumerate(lines, start=first):
            fields = [f.strip() for f in line.split(",")]
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            label = f"{where}:{number}"
            if fields[0] == "p":
                rule = _rule(fields, label)
                rules[rule.subject].append(rule)
            elif fields[0] == "g":
                if len(fields) != 3 or not all(fields[1:]):
                    raise ConfigError(f"{label}: a g line is 'g, <user or group>, <role>'")
                roles[fields[1]].add(fields[2])
            else:
                raise ConfigError(f"{label}: a line starts with p or g, not {fields[0]!r}")
        return cls({s: tuple(r) for s, r in rules.items()},
                   {s: frozenset(r) for s, r in roles.items()}, default_role)  # fmt: skip

    def subjects(self, user: str, groups: Iterable[str] = ()) -> frozenset[str]:
        """The user, its groups, the default role, and every role they hold."""
        start = frozenset({user, *groups, *([self.default_role] if self.default_role else [])})
        found = self._closure.get(start)
        if found is None:
            found = self._expand(start)
            if len(self._closure) < 4096:
                self._closure[start] = found
        return found

    def allows(self, subjects: frozenset[str], resource: str, action: str, obj: str) -> bool:
        """Whether ``subjects`` (from ``subjects``) may do ``action`` on that object."""
        allowed = False
        for subject in subjects:
            for rule in self.rules.get(subject, ()):
                if rule.matches(resource, action, obj):
                    if not rule.allow:
                        return False
                    allowed = True
        return allowed

    def _expand(self, start: frozenset[str]) -> frozenset[str]:
        seen = set(start)
        frontier = list(start)
        for _ in range(MAX_ROLE_DEPTH):
            frontier = [r for s in frontier for r in self.roles.get(s, ()) if r not in seen]
            if not frontier:
                break
            seen.update(frontier)
        return frozenset(seen)


def project_role_problem(line: str, *, project: str, role: str) -> str | None:
    """Why ``line`` cannot be a policy of role ``role`` of AppProject ``project`` (as Argo
    CD: a ``p`` line of subject ``proj:<project>:<role>`` about ``applications`` whose
    object is in the project), or None. A project's roles never reach another project,
    nor clusters, accounts or metrics."""
    fields = [f.strip() for f in line.split(",")]
    if fields[0] != "p":
        return "a project role's policy is a p line"
    try:
        _rule(fields, "line")
    except ConfigError as err:
        return str(err).removeprefix("line: ")
    _, subject, resource, _, obj, _ = fields
    if subject != project_subject(project, role):
        return f"the subject must be {project_subject(project, role)}, not {subject!r}"
    if resource != "applications":
        return f"a project role may only speak of applications, not {resource!r}"
    if not obj.startswith(f"{project}/") or "," in obj:
        return f"the object must be {project}/<app or glob>, not {obj!r}"
    return None


def project_subject(project: str, role: str) -> str:
    """The RBAC subject of role ``role`` of AppProject ``project``."""
    return f"proj:{project}:{role}"


def _rule(fields: list[str], label: str) -> Rule:
    if len(fields) != 6:
        raise ConfigError(f"{label}: a p line is "
                          "'p, <subject>, <resource>, <action>, <object>, <allow|deny>'")
    _, subject, resource, action, obj, effect = fields
    for name, value in (("subject", subject), ("resource", resource), ("action", action),
                        ("object", obj)):
        if not value:
            raise ConfigError(f"{label}: the {name} is empty")
    if effect not in ("allow", "deny"):
        raise ConfigError(f"{label}: the effect is allow or deny, not {effect!r}")
    return Rule(subject, resource, action, obj, effect == "allow")


@lru_cache(maxsize=4096)
def _pattern(glob: str) -> re.Pattern[str]:
    parts = (".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)
    return re.compile("".join(parts), re.DOTALL)
