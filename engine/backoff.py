"""How long to wait: the one backoff of every retry in fleetsync, and jittered intervals (pure).

``Backoff`` is Argo CD's ``syncPolicy.retry``: the n-th consecutive failure waits
``duration * factor**(n-1)``, never more than ``max_duration``; ``limit`` caps how many
retries follow failures (0: none, negative or None: no cap). The scheduler retries targets with it
(an Application's ``retry`` block, else 5 s doubling to 3 min), the Git poller its
repositories. ``FailureStreak`` counts the failures of a loop that never gives up (a cluster
watch, a supervised background task) and says how long it should sleep.

``jittered`` shortens a periodic interval (a target's resync, a repository's poll) by a
random fraction, so that things registered together do not fire together.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

DEFAULT_JITTER = 0.1

# Large enough to reach any cap, small enough that ``factor ** exponent`` stays a float.
_MAX_EXPONENT = 64


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff after consecutive failures, capped, with an optional retry limit."""

    duration: float = 5.0
    factor: float = 2.0
    max_duration: float = 180.0
    limit: int | None = None

    def delay(self, failures: int) -> float | None:
        """Seconds to wait after the ``failures``-th failure in a row; None: no more retries."""
        if failures < 1:
            return 0.0
        if self.limit is not None and 0 <= self.limit < failures:
            return None
        exponent = min(failures - 1, _MAX_EXPONENT)
        return float(min(self.duration * self.factor**exponent, self.max_duration))


@dataclass
class FailureStreak:
    """The consecutive failures of a loop that retries for ever, and its next wait."""

    backoff: Backoff = field(default_factory=Backoff)
    failures: int = 0

    def failed(self) -> float:
        """Count one more failure; the seconds to wait before trying again.

        Past the backoff's ``limit`` (if it has one) the wait stays at ``max_duration``:
        such a loop never stops, it only slows down.
        """
        self.failures += 1
        delay = self.backoff.delay(self.failures)
        return self.backoff.max_duration if delay is None else delay

    def reset(self) -> None:
        """A success (or a long healthy run): the next failure waits the first delay again."""
        self.failures = 0


def jittered(interval: float, *, rng: random.Random, jitter: float = DEFAULT_JITTER) -> float:
    """``interval`` shortened by a uniform random fraction of at most ``jitter``.

    Only ever earlier: resyncs of many apps are spread out, yet each app is still
    reconciled within its declared interval (``timeout.reconcile``), as users read it.
    """
    return interval * (1.0 - rng.uniform(0.0, jitter))
