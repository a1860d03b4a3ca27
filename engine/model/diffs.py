"""The result of diffing one object, and its unified YAML diff (pure)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import yaml

from engine.model import ResourceKey, SyncStatus

MISSING = "Missing"
EXTRA = "Extra"
DRIFT = "Drift"
IN_SYNC = "InSync"
CHANGED_IN_GIT = "ChangedInGit"  # live as last agreed, the manifest changed: not diffed


def writer_name(manager: str, subresource: str = "") -> str:
    """``kubectl``, or ``kubectl via the scale subresource`` for a write through one."""
    via = f" via the {subresource} subresource" if subresource else ""
    return f"{manager or 'someone'}{via}"


@dataclass(frozen=True)
class Attribution:
    """Who owns a drifted field in the live object now: field manager, operation and time.

    ``manager`` is ``""`` when no manager other than fleetsync owns the field or a parent;
    ``subresource`` names the one it wrote through (``scale`` for ``kubectl scale``), if any.
    """

    path: str
    manager: str
    operation: str
    time: str | None
    subresource: str = ""

    @property
    def who(self) -> str:
        """The manager as users read it: ``kubectl via the scale subresource``."""
        return writer_name(self.manager, self.subresource)


@dataclass(frozen=True)
class ObjectDiff:
    """How one object's live state differs from Git: status, reason, paths and a unified diff.

    ``sides`` holds the normalised (and, for Secrets, masked) live and desired objects; the
    ``unified`` text is written from them on first use only, since a hub compares far more
    objects than anyone reads diffs of.
    """

    key: ResourceKey
    status: SyncStatus
    reason: str
    paths: tuple[str, ...] = ()
    drift: tuple[Attribution, ...] = ()
    sides: tuple[dict[str, Any] | None, dict[str, Any] | None] | None = field(
        default=None, compare=False, repr=False
    )

    @cached_property
    def unified(self) -> str:
        """Unified YAML diff of live against desired ("" when in sync)."""
        return unified_diff(self.key, *self.sides) if self.sides is not None else ""


def unified_diff(
    key: ResourceKey, live: dict[str, Any] | None, target: dict[str, Any] | None
) -> str:
    """Unified diff of two normalised objects as YAML, labelled live/<key> and desired/<key>."""
    lines = difflib.unified_diff(
        _yaml(live), _yaml(target), fromfile=f"live/{key}", tofile=f"desired/{key}", n=3
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _yaml(obj: dict[str, Any] | None) -> list[str]:
    if obj is None:
        return []
    text = yaml.safe_dump(obj, sort_keys=True, default_flow_style=False, allow_unicode=True)
    return text.splitlines(keepends=True)
