"""Reconcile step clocks: each mark charges the time since the previous one to its step."""

from __future__ import annotations

import pytest

from engine.hub import laps
from engine.hub.laps import StepSeconds


def test_each_mark_charges_the_time_since_the_last(monkeypatch: pytest.MonkeyPatch) -> None:
    now = iter([10.0, 10.5, 12.0, 12.25, 20.0, 21.0])
    monkeypatch.setattr(laps.time, "perf_counter", lambda: next(now))
    steps = StepSeconds()
    first = steps.lap()  # 10.0
    first.done("render")  # 10.5
    first.done("execute")  # 12.0
    second = steps.lap()  # 12.25
    second.done("render")  # 20.0
    first.done("finish")  # 21.0: since the first clock's own last mark
    assert steps.snapshot() == {"render": 0.5 + 7.75, "execute": 1.5, "finish": 9.0}
