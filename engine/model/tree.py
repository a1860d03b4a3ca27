"""A node of an app's resource tree: a managed object or one it owns (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.model import ResourceKey


@dataclass(frozen=True)
class TreeNode:
    """One object of the tree: managed (with its sync status) or owned by another node."""

    key: ResourceKey
    parent: ResourceKey | None
    health: str | None
    message: str = ""
    sync: str | None = None  # managed objects only
    managed: bool = False
