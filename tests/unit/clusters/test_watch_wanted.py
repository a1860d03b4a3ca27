"""Which watches the targets need is kept as counts as targets come and go (no pass over
every target per sync), and a watch is needed exactly while one target wants it."""

from __future__ import annotations

from engine.clusters.watch import LiveWatcher
from engine.model import TargetKey

CM, DEPLOY, NS = ("v1", "ConfigMap"), ("apps/v1", "Deployment"), ("v1", "Namespace")


def test_a_watch_is_needed_while_any_target_of_its_cluster_wants_it() -> None:
    live = LiveWatcher(pool=None, on_drift=lambda *_: None,  # type: ignore[arg-type]
                       on_health=lambda *_: None)
    a, b, c = TargetKey("a", "one"), TargetKey("b", "one"), TargetKey("c", "two")
    live.want(a, frozenset({CM, DEPLOY}))
    live.want(b, frozenset({CM}))
    live.want(c, frozenset({CM}))
    assert set(live._needed) == {("one", CM), ("one", DEPLOY), ("two", CM)}
    live.want(a, frozenset({NS}))  # replaces what a wanted
    assert set(live._needed) == {("one", CM), ("one", NS), ("two", CM)}
    live.forget(b)
    assert set(live._needed) == {("one", NS), ("two", CM)}
    live.forget_cluster("two")
    assert set(live._needed) == {("one", NS)}
    assert live.version(c) is None and live.version(b) is None
    live.forget(a)
    assert not live._needed and not live._wanted
