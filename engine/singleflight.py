"""Single flight for threads: concurrent callers asking for one key share one computation.

``SingleFlight.do(key, work)`` runs ``work`` in the first caller's thread; callers that ask
for the same key while it runs wait for it and share its result or its error. Nothing is
kept once the work ends: caching the result is the caller's business (``RenderCache``
checks its entries inside ``work``, so a caller that missed the cache just before the
previous flight stored its result does not start a second one).

A leader's failure can be its own rather than the work's (a render cancelled because its
caller stopped waiting): callers that waited for a flight that failed with one of
``rerun_after`` run the work again instead of inheriting that error.

The asyncio twin is ``engine.asyncflight.AsyncSingleFlight``. This module uses only
``threading``, so the pure modules may import it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass
class _Call:
    done: threading.Event = field(default_factory=threading.Event)
    value: Any = None
    error: BaseException | None = None


class SingleFlight(Generic[K, V]):
    """At most one ``work`` per key at a time; concurrent callers share its outcome."""

    def __init__(self, *, rerun_after: tuple[type[BaseException], ...] = ()) -> None:
        self._rerun_after = rerun_after
        self._calls: dict[K, _Call] = {}
        self._lock = threading.Lock()

    def do(self, key: K, work: Callable[[], V]) -> tuple[V, bool]:
        """``work()``'s result for ``key`` and whether this caller ran it (False: shared)."""
        while True:
            with self._lock:
                call = self._calls.get(key)
                leader = call is None
                if call is None:
                    call = self._calls[key] = _Call()
            if leader:
                return self._lead(key, call, work), True
            call.done.wait()
            if call.error is None:
                return cast(V, call.value), False
            if not isinstance(call.error, self._rerun_after):
                raise call.error

    def _lead(self, key: K, call: _Call, work: Callable[[], V]) -> V:
        try:
            call.value = work()
            return cast(V, call.value)
        except BaseException as err:
            call.error = err
            raise
        finally:
            with self._lock:
                del self._calls[key]
            call.done.set()
