"""Text output of diffs for the CLI and logs: YAML unified diffs and per-path attribution."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

import yaml

from engine.diff.model import Attribution, ObjectDiff
from engine.model import ResourceKey, SyncStatus


def unified(key: ResourceKey, live: dict[str, Any] | None, target: dict[str, Any] | None) -> str:
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


def describe(attribution: Attribution) -> str:
    """``<path> changed by <manager> (<operation>) at <time>``, or why no manager is known."""
    if not attribution.manager:
        return f"{attribution.path} (no other field manager owns it)"
    when = f" at {attribution.time}" if attribution.time else ""
    return f"{attribution.path} changed by {attribution.manager} ({attribution.operation}){when}"


def format_diff(diffs: Iterable[ObjectDiff]) -> str:
    """Per differing object: key, reason, paths with their owner, and the unified diff."""
    diffs = list(diffs)
    blocks = [_format_one(d) for d in diffs if d.status != SyncStatus.SYNCED]
    if not blocks:
        return f"in sync: {len(diffs)} object(s)\n"
    return "\n".join(blocks)


def _format_one(diff: ObjectDiff) -> str:
    lines = [f"{diff.key}: {diff.status.value} ({diff.reason})"]
    owners = {a.path: a for a in diff.drift}
    for path in diff.paths:
        owner = owners.get(path)
        lines.append(f"  {describe(owner) if owner else path}")
    text = "\n".join(lines) + "\n"
    if diff.unified:
        text += diff.unified
    return text
