"""The bounds of a fleet plan: a revision is required, and a plan covers at most
``MAX_TARGETS`` targets (a web page or a script cannot make the hub dry-run a fleet many
times over); both refused before anything is resolved or compared."""

from __future__ import annotations

from typing import Any

import pytest

from engine.errors import InvalidRequest
from engine.hub import plans
from engine.hub.plans import Planner
from engine.model import TargetKey


class _Untouchable:
    """Stands for the catalog, Git and the reconciler: any use fails the test."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the plan used {name} before checking its bounds")


KEYS = [TargetKey(f"app-{i}", "c1") for i in range(3)]


async def test_a_plan_of_more_targets_than_the_bound_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plans, "MAX_TARGETS", 2)
    planner = Planner(_Untouchable(), _Untouchable(), _Untouchable())  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest, match="at most 2 targets"):
        await planner.plan(KEYS, revision="main")


async def test_a_plan_needs_a_revision() -> None:
    planner = Planner(_Untouchable(), _Untouchable(), _Untouchable())  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest, match="needs a revision"):
        await planner.plan(KEYS, revision="")
