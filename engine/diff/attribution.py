"""Drift attribution: which field manager owns a drifted field in the live object (pure).

Each entry of the live ``metadata.managedFields`` is parsed; for a drifted path the entry
owning the deepest prefix of it wins (a later ``time`` breaks ties). fleetsync's own entry
is never the answer: a drifted field it still owns tells nothing about who changed it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from engine.diff import fieldsv1
from engine.diff.model import Attribution
from engine.diff.paths import Path, format_path
from engine.model import FIELD_MANAGER


@dataclass(frozen=True)
class ManagerEntry:
    """One parsed ``managedFields`` entry."""

    manager: str
    operation: str
    time: str | None
    fields: fieldsv1.FieldNode


def entries(live: dict[str, Any]) -> list[ManagerEntry]:
    """The parsed ``managedFields`` entries of ``live``."""
    raw = (live.get("metadata") or {}).get("managedFields") or []
    out = []
    for entry in raw:
        if not isinstance(entry, dict):
            continue
        time = entry.get("time")
        out.append(
            ManagerEntry(
                manager=str(entry.get("manager") or ""),
                operation=str(entry.get("operation") or ""),
                time=None if time is None else str(time),
                fields=fieldsv1.parse(entry.get("fieldsV1")),
            )
        )
    return out


def attribute(paths: Iterable[Path], live: dict[str, Any]) -> tuple[Attribution, ...]:
    """One ``Attribution`` per path: the other manager owning it (or a parent) in ``live``."""
    others = [e for e in entries(live) if e.manager != FIELD_MANAGER]
    return tuple(_owner(path, live, others) for path in paths)


def _owner(path: Path, live: dict[str, Any], others: list[ManagerEntry]) -> Attribution:
    best: tuple[int, str] = (0, "")
    owner: ManagerEntry | None = None
    for entry in others:
        rank = (fieldsv1.depth_owned(entry.fields, path, live), entry.time or "")
        if rank[0] > 0 and rank > best:
            best, owner = rank, entry
    if owner is None:
        return Attribution(format_path(path), "", "", None)
    return Attribution(format_path(path), owner.manager, owner.operation, owner.time)
