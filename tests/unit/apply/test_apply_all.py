"""``_all``: concurrent steps of a sync, results in order, the first fleetsync error raised."""

from __future__ import annotations

import asyncio

import pytest

from engine.apply.sync import _all
from engine.errors import ClusterError


async def _value(value: int, delay: float = 0.0) -> int:
    await asyncio.sleep(delay)
    return value


async def _fail(message: str) -> int:
    raise ClusterError(message)


@pytest.mark.parametrize("count", [0, 1, 2, 5])
async def test_results_come_in_the_order_given(count: int) -> None:
    delays = [0.01 * (count - i) for i in range(count)]
    assert await _all(_value(i, d) for i, d in enumerate(delays)) == list(range(count))


@pytest.mark.parametrize("others", [0, 2])
async def test_a_fleetsync_error_is_raised_as_itself(others: int) -> None:
    with pytest.raises(ClusterError, match="down"):
        await _all([_fail("down"), *(_value(i) for i in range(others))])


async def test_several_run_together() -> None:
    started: list[int] = []
    everyone = asyncio.Event()

    async def meet(index: int) -> int:
        started.append(index)
        if len(started) == 4:
            everyone.set()
        await asyncio.wait_for(everyone.wait(), 5)  # one at a time would never get here
        return index

    assert await _all(meet(i) for i in range(4)) == [0, 1, 2, 3]
