"""The single-flight helpers: one computation per key for concurrent callers, threads and
asyncio tasks alike; errors shared, never kept; the asyncio task owned by all its callers."""

from __future__ import annotations

import asyncio
import threading

import anyio
import pytest

from engine.asyncflight import AsyncSingleFlight
from engine.singleflight import SingleFlight


class Gate:
    """Work that waits for ``release``, counting its runs (threads)."""

    def __init__(self, value: str = "v", error: BaseException | None = None) -> None:
        self.runs = 0
        self.started, self.release = threading.Event(), threading.Event()
        self.value, self.error = value, error

    def __call__(self) -> str:
        self.runs += 1
        self.started.set()
        assert self.release.wait(10)
        if self.error is not None:
            raise self.error
        return self.value


class CountingEvent(threading.Event):
    """The leader's done event, counting the callers that wait on it."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting = threading.Semaphore(0)

    def wait(self, timeout: float | None = None) -> bool:
        self.waiting.release()
        return super().wait(timeout)


def run_callers(flight: SingleFlight[str, str], work: Gate, joiners: int) -> list[object]:
    """One leader and ``joiners`` callers that ask while the leader runs; their outcomes."""
    outcomes: list[object] = []

    def call(the_work: Gate) -> None:
        try:
            outcomes.append(flight.do("k", the_work))
        except Exception as err:
            outcomes.append(err)

    leader = threading.Thread(target=call, args=(work,))
    leader.start()
    assert work.started.wait(10)
    done = flight._calls["k"].done = CountingEvent()  # see the joiners wait for the leader
    own = Gate("other")  # what a joiner runs if it has to run the work itself
    own.release.set()
    others = [threading.Thread(target=call, args=(own,)) for _ in range(joiners)]
    for thread in others:
        thread.start()
    for _ in others:
        assert done.waiting.acquire(timeout=10)
    work.release.set()
    for thread in [leader, *others]:
        thread.join(10)
    return outcomes


def test_threads_asking_for_one_key_share_one_run() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    work = Gate("shared")
    outcomes = run_callers(flight, work, joiners=4)
    assert work.runs == 1
    assert sorted(outcomes, key=str) == [("shared", False)] * 4 + [("shared", True)]
    assert flight.do("k", lambda: "again") == ("again", True)  # nothing kept


def test_threads_share_an_error_and_the_next_caller_runs_again() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    boom = ValueError("boom")
    outcomes = run_callers(flight, Gate(error=boom), joiners=2)
    assert outcomes == [boom, boom, boom]
    assert flight.do("k", lambda: "fresh") == ("fresh", True)


def test_a_waiter_runs_the_work_again_after_the_leaders_own_failure() -> None:
    flight: SingleFlight[str, str] = SingleFlight(rerun_after=(KeyboardInterrupt, LookupError))
    outcomes = run_callers(flight, Gate(error=KeyError("leader's own")), joiners=1)
    assert ("other", True) in outcomes and any(isinstance(o, KeyError) for o in outcomes)


class Task:
    """Work that waits for ``release``, counting its runs and whether it was cancelled."""

    def __init__(self, value: str = "v") -> None:
        self.runs = 0
        self.cancelled = False
        self.started, self.release = asyncio.Event(), asyncio.Event()
        self.value = value

    async def __call__(self) -> str:
        self.runs += 1
        self.started.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        return self.value


async def test_tasks_asking_for_one_key_share_one_run() -> None:
    flight: AsyncSingleFlight[str, str] = AsyncSingleFlight()
    work = Task("shared")
    callers = [asyncio.create_task(flight.do("k", work)) for _ in range(5)]
    await work.started.wait()
    work.release.set()
    assert sorted(await asyncio.gather(*callers)) == [("shared", False)] * 4 + [("shared", True)]
    assert work.runs == 1 and len(flight) == 0


async def test_a_cancelled_caller_does_not_cancel_the_work_others_wait_for() -> None:
    flight: AsyncSingleFlight[str, str] = AsyncSingleFlight()
    work = Task("shared")
    first = asyncio.create_task(flight.do("k", work))
    second = asyncio.create_task(flight.do("k", work))
    await work.started.wait()
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    work.release.set()
    assert await second == ("shared", False)
    assert not work.cancelled


async def test_the_work_is_cancelled_when_its_last_caller_stops_waiting() -> None:
    flight: AsyncSingleFlight[str, str] = AsyncSingleFlight()
    work = Task()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(flight.do("k", work), 0.05)
    assert work.cancelled and len(flight) == 0  # ended before the caller got control back
    fresh = Task("fresh")
    fresh.release.set()
    assert await flight.do("k", fresh) == ("fresh", True)  # a new caller starts afresh


async def test_tasks_share_an_error_and_the_next_caller_runs_again() -> None:
    flight: AsyncSingleFlight[str, str] = AsyncSingleFlight()

    async def failing() -> str:
        await asyncio.sleep(0)
        raise ValueError("boom")

    outcomes = await asyncio.gather(*(flight.do("k", failing) for _ in range(3)),
                                    return_exceptions=True)  # fmt: skip
    assert len({id(o) for o in outcomes}) == 1 and isinstance(outcomes[0], ValueError)
    assert len(flight) == 0


async def test_cancel_all_cancels_the_work_and_its_callers() -> None:
    flight: AsyncSingleFlight[str, str] = AsyncSingleFlight()
    work = Task()
    caller = asyncio.create_task(flight.do("k", work))
    await work.started.wait()
    flight.cancel_all()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert work.cancelled and len(flight) == 0


async def test_an_anyio_cancelled_caller_returns_only_once_the_work_has_ended() -> None:
    flight: AsyncSingleFlight[str, str] = AsyncSingleFlight()
    cleaned = asyncio.Event()

    async def slow_to_clean_up() -> str:
        try:
            await asyncio.Event().wait()
        finally:  # like killing a git process group: it takes a few steps
            for _ in range(5):
                await asyncio.sleep(0)
            cleaned.set()
        return "never"

    with anyio.move_on_after(0.05) as scope:
        await flight.do("k", slow_to_clean_up)
    assert scope.cancelled_caught and cleaned.is_set()
