"""The auth section of fleetsync.yaml: accounts as Argo CD declares them, the policy
checked line by line, and errors that name the field."""

from pathlib import Path

import pytest

from engine.config.auth import API_KEY, LOGIN
from engine.config.hub import parse_config
from engine.errors import ConfigError

SOURCE = Path("/etc/fleetsync/fleetsync.yaml")


def test_accounts_policy_and_durations() -> None:
    config = parse_config("""
auth:
  accounts: {alice: [login], ci: [apiKey, login]}
  policy: |
    g, alice, role:readonly
  defaultRole: role:readonly
  sessionDuration: 1h
  loginWindow: 2m
  loginFailures: 3
""", source=SOURCE).auth
    assert config.can("admin", LOGIN) and config.can("alice", LOGIN)
    assert config.can("ci", API_KEY) and not config.can("alice", API_KEY)
    assert (config.session_seconds, config.login_window, config.login_failures) == (3600, 120, 3)
    assert "role:readonly" in config.policy.subjects("bob")


def test_defaults_are_the_admin_alone_and_no_default_role() -> None:
    config = parse_config("clusters: clusters.yaml\n", source=SOURCE).auth
    assert dict(config.accounts) == {"admin": frozenset({LOGIN})}
    assert config.policy.subjects("someone") == frozenset({"someone"})
    assert not config.anonymous_metrics
    assert not parse_config("auth: {admin: false}", source=SOURCE).auth.can("admin", LOGIN)


@pytest.mark.parametrize(("text", "problem"), [
    ("auth: {accounts: {Alice: [login]}}", "auth.accounts.Alice: an account name"),
    ("auth: {accounts: {alice: [sudo]}}", "auth.accounts.alice: a list of login"),
    ("auth: {accounts: {admin: [apiKey]}}", "auth.accounts.admin: admin is built in"),
    ("auth: {policy: 'p, role:x, applications, get'}", "auth.policy:1: a p line is"),
    ("auth: {sessionDuration: 0}", "auth.sessionDuration: must be at least 1"),
    ("auth: {password: x}", "auth.password: unknown field"),
])
def test_a_bad_field_is_named(text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_config(text, source=SOURCE)
