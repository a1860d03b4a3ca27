"""Python's cyclic garbage collector, set for the long-running hub.

Reference counting frees almost everything the hub drops; the cyclic collector finds the
rest (tasks and futures that refer to each other, exceptions and their tracebacks). By
default it looks at the youngest objects every 700 allocations and at every object the
process holds (the watches' memory, the render cache, statuses: a full pass costs tens of
milliseconds at 3,000 targets) whenever enough new objects survived: measured on the
3 x 334 fleet benchmark, 7 % of the hub's CPU during a cold sync went to the collector.

``tune`` makes the youngest pass rarer (``YOUNG`` allocations: by then most objects died
of their reference count and are not traversed at all) and ``freeze`` moves what exists
once the hub is built (modules, classes, the configuration: tens of thousands of objects
that live as long as the process) out of every later pass. Cyclic garbage lives a little
longer: at most ``YOUNG`` allocations' worth.
"""

from __future__ import annotations

import gc

YOUNG = 20_000  # allocations between passes over the youngest objects (default 700)
MIDDLE = 10  # passes over the youngest between passes over the middle generation
OLD = 10  # passes over the middle generation between looks at all objects


def tune() -> tuple[int, int, int]:
    """Set the collector's thresholds for the hub; the thresholds now in force."""
    gc.set_threshold(YOUNG, MIDDLE, OLD)
    return gc.get_threshold()


def freeze() -> int:
    """Collect once, then keep every object alive now out of later passes; how many."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
