"""Python's cyclic garbage collector, set for the long-running hub.

Reference counting frees almost everything the hub drops; the cyclic collector finds the
rest (tasks and futures that refer to each other, exceptions and their tracebacks). By
default it looks at the youngest objects every 700 allocations, and at every object the
process holds (the watches' memory, the render cache, statuses: a full pass took ~120 ms
at 1,002 targets) whenever ten passes over the middle generation found enough survivors.
On the 3 x 334 fleet benchmark (2026-12-04, one run each) the collector took 14.4 s of
the hub's 95.5 s of CPU with the defaults, 8.5 s of it in 71 full passes.

``tune`` keeps passes over the youngest objects frequent (``YOUNG`` allocations: a larger
young generation was tried, 20,000, and each pass over it cost ~19 ms, more in all) and
makes full passes rare: at most one per ``YOUNG * MIDDLE * OLD`` allocations (3 full
passes in the same run, 6.2 s in the collector out of 93 s). ``freeze`` moves what
exists once the hub is built (modules, classes, the configuration: tens of thousands of
objects that live as long as the process) out of every later pass. Cyclic garbage that
survives the young passes lives longer: its memory is the price.
"""

from __future__ import annotations

import gc

YOUNG = 2_000  # allocations between passes over the youngest objects (default 700)
MIDDLE = 10  # passes over the youngest between passes over the middle generation
OLD = 100  # passes over the middle generation between looks at all objects (default 10)


def tune() -> tuple[int, int, int]:
    """Set the collector's thresholds for the hub; the thresholds now in force."""
    gc.set_threshold(YOUNG, MIDDLE, OLD)
    return gc.get_threshold()


def freeze() -> int:
    """Collect once, then keep every object alive now out of later passes; how many."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
