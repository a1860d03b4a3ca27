"""Tolerant readers of live object fields: a missing or mistyped field reads as empty (pure)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

Obj = Mapping[str, Any]

# At most 18 digits: any int64 a controller writes, and no huge int() from a hostile string.
_DECIMAL = re.compile(r"[+-]?[0-9]{1,18}")


def section(mapping: Obj, key: str) -> Obj:
    """``mapping[key]`` when it is a mapping, else an empty one."""
    value = mapping.get(key)
    return value if isinstance(value, Mapping) else {}


def items(mapping: Obj, key: str) -> list[Obj]:
    """The mappings in the list ``mapping[key]``; anything else reads as empty."""
    value = mapping.get(key)
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, Mapping)]


def integer(mapping: Obj, key: str, default: int = 0) -> int:
    """``mapping[key]`` as an int; a whole float or a decimal string counts (``"5"``: Argo
    Rollouts writes ``observedGeneration`` so). Booleans and anything else read as ``default``.
    """
    found = number(mapping, key)
    return default if found is None else found


def number(mapping: Obj, key: str) -> int | None:
    """``mapping[key]`` as an int when it is one, a whole float or a decimal string; else None."""
    value = mapping.get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        return int(value)
    return None


def text(mapping: Obj, key: str) -> str:
    """``mapping[key]`` as a string, empty when absent."""
    value = mapping.get(key)
    return value if isinstance(value, str) else ""


def spec(obj: Obj) -> Obj:
    """The object's ``spec``."""
    return section(obj, "spec")


def status(obj: Obj) -> Obj:
    """The object's ``status``."""
    return section(obj, "status")


def name(obj: Obj) -> str:
    """The object's ``metadata.name``."""
    return text(section(obj, "metadata"), "name")


def conditions(obj: Obj) -> list[Obj]:
    """The object's ``status.conditions``."""
    return items(status(obj), "conditions")


def condition(obj: Obj, kind: str) -> Obj | None:
    """The condition of type ``kind`` in ``status.conditions``, if any."""
    return next((c for c in conditions(obj) if c.get("type") == kind), None)


def is_true(cond: Obj | None) -> bool:
    """Whether a condition is present with status ``"True"``."""
    return cond is not None and cond.get("status") == "True"


def is_false(cond: Obj | None) -> bool:
    """Whether a condition is present with status ``"False"``."""
    return cond is not None and cond.get("status") == "False"


def explain(cond: Obj) -> str:
    """``Type=Status (Reason): message`` of a condition, for user messages."""
    head = f"{text(cond, 'type')}={text(cond, 'status') or 'Unknown'}"
    reason, message = text(cond, "reason"), text(cond, "message")
    if reason:
        head += f" ({reason})"
    return f"{head}: {message}" if message else head


def condition_stale(obj: Obj, cond: Obj) -> bool:
    """Whether a condition says it describes an older generation than ``metadata.generation``."""
    generation = integer(section(obj, "metadata"), "generation", default=-1)
    return 0 <= integer(cond, "observedGeneration", default=generation) < generation


def generation_observed(obj: Obj) -> bool:
    """Whether the controller has seen the latest spec (``observedGeneration >= generation``).

    An object without ``metadata.generation`` (a manifest, or a kind that has none) counts
    as observed.
    """
    generation = integer(section(obj, "metadata"), "generation", default=-1)
    if generation < 0:
        return True
    observed = status(obj).get("observedGeneration")
    if isinstance(observed, str) and number(status(obj), "observedGeneration") is None:
        # A hash, as Argo Rollouts before v0.10 wrote: not comparable with a generation.
        return bool(observed)
    return integer(status(obj), "observedGeneration", default=-1) >= generation


def not_observed_message(obj: Obj) -> str:
    """The message for a spec the controller has not seen yet."""
    generation = integer(section(obj, "metadata"), "generation")
    observed = integer(status(obj), "observedGeneration", default=-1)
    seen = f"generation {observed}" if observed >= 0 else "nothing yet"
    return (
        f"Waiting for the controller to observe generation {generation} of the spec "
        f"(it has observed {seen})"
    )
