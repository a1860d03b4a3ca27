"""Unified YAML diffs of two normalised objects (pure)."""

from __future__ import annotations

import difflib
from typing import Any

import yaml

from engine.model import ResourceKey


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
