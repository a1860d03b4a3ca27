"""Argo CD's RBAC lines, evaluated as Argo CD does: roles through g lines, deny wins,
globs that cross '/', built-in admin and readonly roles, a default role for everyone."""

import pytest

from engine.errors import ConfigError
from engine.rbac import Policy, project_role_problem

TEAMS = """
# team A runs its own project; team B only looks at its own
p, role:team-a, applications, *, team-a/*, allow
p, role:team-a, applications, delete, team-a/prod-*, deny
p, role:team-a, projects, get, team-a, allow
p, role:team-b, applications, get, team-b/*, allow
g, alice, role:team-a
g, platform, role:team-b
g, role:team-b, role:viewer
p, role:viewer, clusters, get, *, allow
"""


def can(policy: Policy, user: str, resource: str, action: str, obj: str,
        groups: tuple[str, ...] = ()) -> bool:
    return policy.allows(policy.subjects(user, groups), resource, action, obj)


def test_a_role_allows_its_project_and_nothing_else() -> None:
    policy = Policy.parse(TEAMS)
    assert can(policy, "alice", "applications", "sync", "team-a/web")
    assert can(policy, "alice", "projects", "get", "team-a")
    assert not can(policy, "alice", "applications", "get", "team-b/web")
    assert not can(policy, "alice", "projects", "get", "team-b")
    assert not can(policy, "alice", "clusters", "get", "prod")


def test_deny_wins_over_allow() -> None:
    policy = Policy.parse(TEAMS)
    assert can(policy, "alice", "applications", "delete", "team-a/dev-web")
    assert not can(policy, "alice", "applications", "delete", "team-a/prod-web")


def test_groups_and_roles_of_roles_are_followed() -> None:
    policy = Policy.parse(TEAMS)
    assert can(policy, "bob", "applications", "get", "team-b/api", groups=("platform",))
    assert can(policy, "bob", "clusters", "get", "prod", groups=("platform",))  # via viewer
    assert not can(policy, "bob", "applications", "sync", "team-b/api", groups=("platform",))
    assert not can(policy, "bob", "applications", "get", "team-b/api")


def test_built_in_roles_and_the_default_role() -> None:
    policy = Policy.parse(TEAMS)
    assert can(policy, "admin", "accounts", "update", "alice")
    assert not can(policy, "carol", "applications", "get", "team-a/web")
    readonly = Policy.parse(TEAMS, default_role="role:readonly")
    assert can(readonly, "carol", "applications", "get", "team-a/web")
    assert not can(readonly, "carol", "applications", "sync", "team-a/web")


def test_a_glob_is_only_star_and_question_mark() -> None:
    policy = Policy.parse("p, u, applications, get, a/web-?, allow\n"
                          "p, u, applications, sync, a/[x], allow")
    assert can(policy, "u", "applications", "get", "a/web-1")
    assert not can(policy, "u", "applications", "get", "a/web-12")
    assert can(policy, "u", "applications", "sync", "a/[x]")
    assert not can(policy, "u", "applications", "sync", "a/x")


def test_argo_cd_lines_about_resources_fleetsync_lacks_are_accepted() -> None:
    policy = Policy.parse("p, role:ops, repositories, get, *, allow\ng, ops, role:ops")
    assert not can(policy, "ops", "applications", "get", "a/b")


@pytest.mark.parametrize(("line", "problem"), [
    ("p, role:x, applications, get, */*", "policy:1: a p line is"),
    ("p, role:x, applications, get, */*, maybe", "policy:1: the effect is allow or deny"),
    ("p, role:x, , get, */*, allow", "policy:1: the resource is empty"),
    ("g, alice", "policy:1: a g line is"),
    ("q, alice, role:x", "policy:1: a line starts with p or g"),
])
def test_a_bad_line_is_named(line: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        Policy.parse(line)


def test_a_cycle_of_roles_ends() -> None:
    policy = Policy.parse("g, role:a, role:b\ng, role:b, role:a\ng, u, role:a\n"
                          "p, role:b, applications, get, *, allow")
    assert can(policy, "u", "applications", "get", "x/y")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("p, proj:web:ci, applications, sync, web/*, allow", None),
        ("p, proj:web:ci, applications, *, web/api, deny", None),
        ("g, alice, proj:web:ci", "a project role's policy is a p line"),
        ("p, proj:other:ci, applications, sync, web/*, allow", "must be proj:web:ci"),
        ("p, role:admin, applications, sync, web/*, allow", "must be proj:web:ci"),
        ("p, proj:web:ci, clusters, get, *, allow", "only speak of applications"),
        ("p, proj:web:ci, applications, sync, *, allow", "must be web/<app or glob>"),
        ("p, proj:web:ci, applications, sync, webshop/*, allow", "must be web/<app or glob>"),
        ("p, proj:web:ci, applications, sync, web/*, maybe", "allow or deny"),
        ("p, proj:web:ci, applications, sync", "a p line is"),
    ],
)
def test_a_project_role_speaks_only_of_its_project_s_apps(line: str, problem: str | None) -> None:
    found = project_role_problem(line, project="web", role="ci")
    assert (found is None) if problem is None else (problem in str(found)), found


def test_project_role_lines_extend_the_configured_policy() -> None:
    policy = Policy.parse("g, alice, proj:web:ci\np, role:x, applications, get, ops/*, allow")
    extended = policy.extended("p, proj:web:ci, applications, sync, web/*, allow\n"
                               "g, team-web, proj:web:ci", where="AppProject roles")
    assert not policy.allows(policy.subjects("alice"), "applications", "sync", "web/api")
    assert extended.allows(extended.subjects("alice"), "applications", "sync", "web/api")
    assert extended.allows(extended.subjects("bob", ["team-web"]), "applications", "sync",
                           "web/api")
    assert not extended.allows(extended.subjects("alice"), "applications", "sync", "ops/api")
    assert extended.allows(extended.subjects("admin"), "clusters", "get", "any")  # built in
