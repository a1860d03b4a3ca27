"""Secret masking: no Secret value ever reaches a diff, a path or a message (pure).

Values of ``data`` (``stringData`` is folded into it by normalisation) become ``++++++++``;
a value that differs between live and desired shows ``++++++++ (changed)`` on the desired
side, so the unified diff still tells which keys drifted without showing any value.
"""

from __future__ import annotations

from typing import Any

MASK = "++++++++"
CHANGED = "++++++++ (changed)"
_SECRET_FIELDS = ("data", "stringData")


def mask_pair(live: dict[str, Any] | None, target: dict[str, Any] | None) -> None:
    """Replace every Secret value in ``live`` and ``target``, in place."""
    for field in _SECRET_FIELDS:
        live_values = _values(live, field)
        target_values = _values(target, field)
        for key, value in list(target_values.items()):
            changed = key in live_values and live_values[key] != value
            target_values[key] = CHANGED if changed else MASK
        for key in live_values:
            live_values[key] = MASK
    for side in (live, target):
        annotations = ((side or {}).get("metadata") or {}).get("annotations")
        if isinstance(annotations, dict) and annotations.get(_LAST_APPLIED):
            annotations[_LAST_APPLIED] = MASK


_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _values(obj: dict[str, Any] | None, field: str) -> dict[str, Any]:
    values = (obj or {}).get(field)
    return values if isinstance(values, dict) else {}
