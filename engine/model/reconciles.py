"""Why a target's reconcile was queued and how it ended: the scheduler's words (pure).

The scheduler queues keys with a ``Trigger`` and reads an ``Outcome`` back from each
reconcile; the hub, the Git poller and the API speak the same words, so they live here
rather than in the scheduler.
"""

from __future__ import annotations

import enum


class Trigger(enum.IntEnum):
    """Why a key was queued; a higher value is served first."""

    PERIODIC = 0
    RETRY = 1
    DRIFT = 2
    WEBHOOK = 3
    MANUAL = 4

    def __str__(self) -> str:
        return self.name.lower()


class Outcome(enum.Enum):
    """How one reconcile ended."""

    SUCCESS = "success"
    TEMPORARY_FAILURE = "temporary"
    PERMANENT_FAILURE = "permanent"
