"""The one backoff: growth, cap, limit; Argo CD's retry block; loops that never give up;
jittered intervals."""

from __future__ import annotations

import random

from engine.apps import parse_application
from engine.apps.syncpolicy import Retry
from engine.backoff import Backoff, FailureStreak, jittered


def test_backoff_grows_by_factor_and_is_capped() -> None:
    b = Backoff(duration=5, factor=2, max_duration=60)
    assert [b.delay(n) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]
    assert b.delay(10_000) == 60
    assert b.delay(0) == 0.0


def test_backoff_limit_stops_retries_zero_means_none() -> None:
    assert Backoff(limit=2).delay(2) == 10 and Backoff(limit=2).delay(3) is None
    assert Backoff(limit=0).delay(1) is None
    assert Backoff(limit=None).delay(50) == 180
    assert Backoff(limit=-1).delay(50) == 180


def test_jitter_only_shortens_by_at_most_ten_percent_and_spreads() -> None:
    rng = random.Random(7)
    values = [jittered(100.0, rng=rng) for _ in range(2000)]
    assert all(90.0 <= v <= 100.0 for v in values)
    assert min(values) < 91 and max(values) > 99  # really spread, not constant


def test_argo_retry_block_becomes_the_backoff_it_describes() -> None:
    retry_block = {"limit": 5, "backoff": {"duration": "10s", "factor": 3, "maxDuration": "2m"}}
    app = parse_application({
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": "w"},
        "spec": {"source": {"repoURL": "https://git.example/w"},
                 "destination": {"name": "in-cluster", "namespace": "w"},
                 "syncPolicy": {"retry": retry_block}},
    }, source="apps.yaml")  # fmt: skip
    retry = app.sync_policy.retry
    assert retry is not None
    assert retry.backoff() == Backoff(duration=10, factor=3, max_duration=120, limit=5)
    assert Retry(limit=-1).backoff() == Backoff(duration=5, factor=2, max_duration=180)


def test_argo_retry_with_a_huge_factor_stays_a_number() -> None:
    assert Retry(limit=-1, factor=1000).backoff().delay(500) == 180


def test_failure_streak_doubles_to_the_cap_and_starts_over_after_reset() -> None:
    streak = FailureStreak(Backoff(duration=1, factor=2, max_duration=30))
    assert [streak.failed() for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    streak.reset()
    assert streak.failed() == 1


def test_failure_streak_never_gives_up_past_a_limit() -> None:
    streak = FailureStreak(Backoff(duration=1, factor=2, max_duration=8, limit=1))
    assert [streak.failed() for _ in range(3)] == [1, 8, 8]
