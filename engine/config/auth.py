"""The ``auth:`` section of ``fleetsync.yaml``: accounts, RBAC policy, sessions (pure).

    auth:
      admin: true                      # the built-in admin account (default true)
      accounts:                        # Argo CD's accounts.<name>: login and/or apiKey
        alice: [login]
        ci: [apiKey]
      policy: |                        # Argo CD's policy.csv (engine.rbac)
        p, role:team-a, applications, *, team-a/*, allow
        g, alice, role:team-a
      defaultRole: ""                  # policy.default: what every logged-in user holds
      sessionDuration: 24h             # how long a login lasts (default 24h)
      anonymousMetrics: false          # true: /metrics without a token (a scraper's)
      loginFailures: 5                 # failed logins per account or address ...
      loginWindow: 5m                  # ... within this window, then refused until it ends

Passwords and tokens are never written here: the admin's first password is generated at
first start, the others are set with ``fleetsync account update-password``; both live,
hashed, in the store.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.apps.fields import Fields
from engine.rbac import ADMIN_ACCOUNT, Policy

LOGIN = "login"
API_KEY = "apiKey"
CAPABILITIES = (LOGIN, API_KEY)
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9._@]{0,62}[a-z0-9])?$")
_KNOWN = {"admin", "accounts", "policy", "defaultRole", "sessionDuration", "anonymousMetrics",
          "loginFailures", "loginWindow"}  # fmt: skip


@dataclass(frozen=True)
class AuthConfig:
    """Who may log in, with what, and what each may do."""

    accounts: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: {ADMIN_ACCOUNT: frozenset({LOGIN})})
    policy: Policy = field(default_factory=lambda: Policy.parse(""))
    session_seconds: int = 24 * 3600
    anonymous_metrics: bool = False
    login_failures: int = 5
    login_window: int = 300

    def can(self, account: str, capability: str) -> bool:
        """Whether ``account`` is declared with ``capability`` (``login`` or ``apiKey``)."""
        return capability in self.accounts.get(account, frozenset())


def parse_auth(doc: Mapping[str, Any], fields: Fields) -> AuthConfig:
    """The ``auth`` section of ``doc`` (all defaults when absent)."""
    raw = fields.mapping(doc, "auth", "")
    extra = sorted(set(raw) - _KNOWN)
    if extra:
        raise fields.error(f"auth.{extra[0]}",
                           f"unknown field (expected {', '.join(sorted(_KNOWN))})")
    accounts = _accounts(raw, fields)
    if fields.boolean(raw, "admin", "auth", True):
        accounts[ADMIN_ACCOUNT] = frozenset({LOGIN})
    else:
        accounts.pop(ADMIN_ACCOUNT, None)
    policy = Policy.parse(fields.string(raw, "policy", "auth"),
                          default_role=fields.string(raw, "defaultRole", "auth"),
                          where=f"{fields.source}: auth.policy")
    session = fields.duration(raw, "sessionDuration", "auth")
    window = fields.duration(raw, "loginWindow", "auth")
    failures = fields.integer(raw, "loginFailures", "auth")
    for name, value in (("sessionDuration", session), ("loginWindow", window),
                        ("loginFailures", failures)):
        if value is not None and value < 1:
            raise fields.error(f"auth.{name}", "must be at least 1")
    return AuthConfig(
        accounts=accounts,
        policy=policy,
        session_seconds=int(session or 24 * 3600),
        anonymous_metrics=fields.boolean(raw, "anonymousMetrics", "auth", False),
        login_failures=failures or 5,
        login_window=int(window or 300),
    )


def _accounts(raw: Mapping[str, Any], fields: Fields) -> dict[str, frozenset[str]]:
    declared = fields.mapping(raw, "accounts", "auth")
    accounts: dict[str, frozenset[str]] = {}
    for name, value in declared.items():
        path = f"auth.accounts.{name}"
        if not isinstance(name, str) or not _NAME.match(name):
            raise fields.error(path, "an account name is lower case letters, digits, "
                                     "'-', '.', '_' or '@' (at most 64)")
        if name == ADMIN_ACCOUNT:
            raise fields.error(path, "admin is built in (auth.admin turns it off)")
        capabilities = value if isinstance(value, list) else None
        if not capabilities or not all(c in CAPABILITIES for c in capabilities):
            raise fields.error(path, f"a list of {' and/or '.join(CAPABILITIES)}")
        accounts[name] = frozenset(capabilities)
    return accounts
