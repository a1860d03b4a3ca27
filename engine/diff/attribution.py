"""Drift attribution: which field manager owns a drifted field in the live object (pure).

Each entry of the live ``metadata.managedFields`` is parsed; for a drifted path the entry
owning the deepest prefix of it wins (a later ``time`` breaks ties). fleetsync's own entry
is never the answer: a drifted field it still owns tells nothing about who changed it.

An entry written through a subresource names it (``subresource: scale`` for ``kubectl scale``
or an autoscaler). Only the ``status`` subresource reports what a controller observed; every
other one (``scale``, ...) writes what users declare, so ``writers`` counts it as a change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.diff import fieldsv1
from engine.diff.paths import Path, format_path
from engine.model import FIELD_MANAGER
from engine.model.diffs import Attribution, writer_name

STATUS_SUBRESOURCE = "status"


@dataclass(frozen=True)
class ManagerEntry:
    """One parsed ``managedFields`` entry."""

    manager: str
    operation: str
    time: str | None
    fields: fieldsv1.FieldNode
    subresource: str = ""


@dataclass(frozen=True)
class Writer:
    """Who made one change users declare: manager, operation, subresource ("" for none), time."""

    manager: str
    operation: str
    subresource: str
    time: str

    def __str__(self) -> str:
        return writer_name(self.manager, self.subresource)


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
                subresource=str(entry.get("subresource") or ""),
            )
        )
    return out


def writers(live: Mapping[str, Any]) -> list[Writer]:
    """Every ``managedFields`` entry of ``live`` outside the ``status`` subresource."""
    raw = (live.get("metadata") or {}).get("managedFields") or []
    return [
        Writer(
            manager=str(entry.get("manager") or ""),
            operation=str(entry.get("operation") or ""),
            subresource=str(entry.get("subresource") or ""),
            time=str(entry.get("time") or ""),
        )
        for entry in raw
        if isinstance(entry, dict) and entry.get("subresource") != STATUS_SUBRESOURCE
    ]


@dataclass(frozen=True)
class OwnWrite:
    """fleetsync's mark on an object: when its write last changed it, how many fields it owns."""

    time: str = ""
    fields: int = 0


def own_write(live: Mapping[str, Any]) -> OwnWrite:
    """fleetsync's mark on ``live``, from its ``managedFields`` entries outside the status."""
    raw = (live.get("metadata") or {}).get("managedFields") or []
    own = [e for e in raw if isinstance(e, dict) and e.get("manager") == FIELD_MANAGER
           and e.get("subresource") != STATUS_SUBRESOURCE]
    return OwnWrite(
        time=max((str(e.get("time") or "") for e in own), default=""),
        fields=sum(_count(e.get("fieldsV1")) for e in own),
    )


def latest_writers(live: Mapping[str, Any]) -> tuple[Writer, ...]:
    """The newest ``managedFields`` entries outside the ``status`` subresource (ties: all)."""
    return _newest(writers(live))


def changed_by_fleetsync(live: Mapping[str, Any], *, before: OwnWrite) -> bool:
    """Whether the newest change of ``live`` is fleetsync's own apply.

    The API server stamps a manager's entry (to the second) whenever its write changes the
    object, and only fleetsync's own writes add fields to its set: so fleetsync wrote when
    its time moved past ``before``, or its set grew within the same second, and no other
    entry outside the status is as new. The newest time alone cannot tell: a write through
    the ``scale`` subresource (``kubectl scale``, an autoscaler) is recorded without one.
    """
    now = own_write(live)
    moved = now.time > before.time or (now.time == before.time and now.fields > before.fields)
    return moved and all(w.manager == FIELD_MANAGER for w in latest_writers(live))


def other_writer(live: Mapping[str, Any]) -> Writer | None:
    """The manager most likely behind a change fleetsync did not make, None if unknown.

    The newest entry if it is another manager's; else another manager's entry without a
    time: the API server stamps none on writes through the ``scale`` subresource.
    """
    found = writers(live)
    newest = [w for w in _newest(found) if w.manager != FIELD_MANAGER]
    untimed = [w for w in found if not w.time and w.manager != FIELD_MANAGER]
    likely = newest or untimed
    return likely[0] if likely else None


def _newest(found: list[Writer]) -> tuple[Writer, ...]:
    latest = max((w.time for w in found), default="")
    return tuple(w for w in found if w.time == latest)


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
    return Attribution(
        format_path(path), owner.manager, owner.operation, owner.time, owner.subresource
    )


def _count(fields: Any) -> int:
    """How many fields a ``fieldsV1`` value names (each key at any depth)."""
    if not isinstance(fields, dict):
        return 0
    return sum(1 + _count(child) for child in fields.values())
