"""The change feed: changes coalesce per subscription, overflow becomes "everything", and
the number of open streams is bounded."""

import pytest

from engine.api import feed as feed_module
from engine.api.feed import EVERYTHING, ChangeFeed, TooManySubscribers


async def test_changes_coalesce_until_read() -> None:
    feed = ChangeFeed()
    with feed.subscribe() as first, feed.subscribe() as second:
        for app in ("web", "api", "web"):
            feed.changed(app)
        assert await first.next(within=1) == {"web", "api"}
        assert await first.next(within=0.01) == set()
        assert await second.next(within=1) == {"web", "api"}
    feed.changed("late")  # nobody listens: nothing is kept


async def test_a_flood_becomes_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feed_module, "BACKLOG", 3)
    feed = ChangeFeed()
    with feed.subscribe() as subscription:
        for index in range(10):
            feed.changed(f"app-{index}")
        assert await subscription.next(within=1) == {EVERYTHING}


def test_open_streams_are_bounded() -> None:
    feed = ChangeFeed(max_subscribers=1)
    with feed.subscribe(), pytest.raises(TooManySubscribers), feed.subscribe():
        pass
    with feed.subscribe():  # the slot is free again
        pass


async def test_closing_the_feed_wakes_and_ends_every_stream() -> None:
    feed = ChangeFeed()
    with feed.subscribe() as subscription:
        feed.close()
        assert await subscription.next(within=5) == set() and subscription.closed
