"""How often the hub looks at its local files: every 2 s while a look is cheap, less often
when thousands of app files make it cost more than a quarter of a percent of a core."""

import pytest

from engine.hub.follower import FOLLOW_INTERVAL, FOLLOW_INTERVAL_MAX, follow_interval


@pytest.mark.parametrize(("cost", "interval"), [
    (0.0, FOLLOW_INTERVAL),
    (0.001, FOLLOW_INTERVAL),   # a few files
    (0.027, 10.8),              # 3,000 files stamped in 27 ms
    (1.0, FOLLOW_INTERVAL_MAX),  # never slower than this
])
def test_the_interval_keeps_looking_below_its_share_of_a_core(cost: float,
                                                              interval: float) -> None:
    assert follow_interval(cost) == pytest.approx(interval)
