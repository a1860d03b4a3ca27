"""Text output of diffs for the CLI and logs: YAML unified diffs and per-path attribution."""

from __future__ import annotations

from collections.abc import Iterable

from engine.model import SyncStatus
from engine.model.diffs import Attribution, ObjectDiff


def describe(attribution: Attribution) -> str:
    """``<path> changed by <manager> [via the <subresource> subresource] (<operation>) at
    <time>``, or why no manager is known."""
    if not attribution.manager:
        return f"{attribution.path} (no other field manager owns it)"
    when = f" at {attribution.time}" if attribution.time else ""
    return f"{attribution.path} changed by {attribution.who} ({attribution.operation}){when}"


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
