"""Timers: jitter bounds, re-timing, cancelling (the backoff itself: tests/unit/backoff)."""

from __future__ import annotations

import random

from engine.model import TargetKey
from engine.model.reconciles import Trigger
from engine.scheduler.timers import Timers

A, B = TargetKey("a", "c1"), TargetKey("b", "c1")


def test_timers_fire_in_order_and_rearming_replaces_the_deadline() -> None:
    t = Timers(rng=random.Random(1), jitter=0.0)
    t.arm_periodic(A, interval=10, now=0)
    t.arm_periodic(B, interval=5, now=0)
    t.arm_periodic(A, interval=30, now=0)  # re-timed: the 10 s deadline is gone
    assert t.pop_due(10) == [(B, Trigger.PERIODIC)]
    assert t.next_due() == 30
    assert t.pop_due(30) == [(A, Trigger.PERIODIC)]
    assert t.next_due() is None


def test_removed_key_never_fires() -> None:
    t = Timers(jitter=0.0)
    t.arm_periodic(A, interval=10, now=0)
    t.arm_retry(A, delay=1, now=0)
    t.remove(A)
    assert t.pop_due(100) == [] and t.next_due() is None and len(t) == 0


def test_retry_and_periodic_deadlines_coexist() -> None:
    t = Timers(jitter=0.0)
    t.arm_periodic(A, interval=10, now=0)
    t.arm_retry(A, delay=2, now=0)
    assert t.due_at(A, Trigger.RETRY) == 2
    assert t.pop_due(2) == [(A, Trigger.RETRY)]
    assert t.pop_due(10) == [(A, Trigger.PERIODIC)]
