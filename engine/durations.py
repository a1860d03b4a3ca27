"""Durations as users write them: a Go duration (``30s``, ``1h30m``, ``250ms``) or seconds.

The one parser for every duration fleetsync reads: ``fleetsync.yaml`` (``git.pollInterval``,
``limits.renderTimeout``), Argo CD's ``syncPolicy.retry.backoff`` and
``timeout.reconcile``. Go's ``time.ParseDuration`` units (``ns``, ``us``/``µs``, ``ms``,
``s``, ``m``, ``h``) and decimals (``1.5h``, ``.5s``) are accepted; a sign is not, since no
duration fleetsync reads may be negative. A bare number, written or as text, is seconds.
"""

from __future__ import annotations

import math
import re

_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str | int | float) -> float:
    """Seconds in ``value`` (``"5s"``, ``"3m"``, ``"1h30m"``, ``"90"``, ``90``).

    ValueError for anything else (negative numbers and booleans included); the caller names
    the file and field.
    """
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"not a duration: {value!r}")
    if not isinstance(value, str):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"not a duration: {value!r} (must be a finite number, not negative)")
        return float(value)
    text = value.strip()
    if _NUMBER.fullmatch(text):
        return float(text)
    if not text or _PART.sub("", text) != "":
        raise ValueError(f"not a duration: {value!r} (expected e.g. 30s, 3m, 1h30m)")
    return sum(float(n) * _UNIT_SECONDS[u] for n, u in _PART.findall(text))
