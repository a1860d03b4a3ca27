"""glibc malloc settings for the long-running hub, so memory freed goes back to the system.

glibc serves a large request (128 KiB and up) by ``mmap`` and unmaps it when freed, but
the first such free raises that threshold to the size freed, for good: from then on,
requests of that size come from a heap and stay resident after they are freed, in each
arena (one per thread that allocated, up to 8 per core). One argon2 hash (19 MiB, see
``engine.auth.passwords``) made at import raised it so that every later password hash or
login kept 19 MiB resident in the arena of whichever thread ran it. Setting the
threshold explicitly turns that adjustment off: large blocks are always mapped and always
returned. Arenas are capped at ``ARENAS``: the hub's threads (renders, git, SQLite) run
one at a time under the GIL, so more arenas buy little but fragmentation.

Smaller blocks freed in the middle of a heap stay resident too (only the top of a heap
is given back on free). ``keep_trimmed`` looks at the heap every ``TRIM_INTERVAL``
seconds and, when ``TRIM_AT`` bytes more of it are free than a trim left, has glibc give
the free pages back (``malloc_trim``; a few milliseconds for a heap of this size).

Other C libraries (musl) have no ``mallopt``: then nothing is changed or trimmed.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
import logging

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameters (malloc.h)
M_ARENA_MAX = -8
MMAP_THRESHOLD = 256 * 1024
ARENAS = 2
TRIM_INTERVAL = 10.0
TRIM_AT = 8 * 1024 * 1024


_MALLINFO2 = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
              "uordblks", "fordblks", "keepcost")


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in _MALLINFO2]


@functools.cache
def _libc() -> ctypes.CDLL | None:
    """glibc's malloc functions, or None (another C library)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        libc.mallinfo2.restype = _MallInfo2
        libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


def mallinfo() -> dict[str, int]:
    """glibc's ``mallinfo2`` of all arenas, by field name (empty without glibc)."""
    libc = _libc()
    if libc is None:
        return {}
    info = libc.mallinfo2()
    return {name: int(getattr(info, name)) for name in _MALLINFO2}


def free_bytes() -> int | None:
    """Bytes free inside glibc's heaps (all arenas), or None without glibc."""
    return mallinfo().get("fordblks")


def trim() -> bool:
    """Give the free pages of glibc's heaps back to the system; whether any were."""
    libc = _libc()
    return libc is not None and bool(libc.malloc_trim(0))


async def keep_trimmed(*, interval: float = TRIM_INTERVAL, at: int = TRIM_AT) -> None:
    """Trim the heaps whenever ``at`` bytes more are free than after the last trim (free
    blocks smaller than a page stay after a trim: no trim again for them), looking every
    ``interval`` seconds, until cancelled (returns at once without glibc)."""
    if _libc() is None:
        return
    left = 0  # free bytes a trim could not give back
    while True:
        await asyncio.sleep(interval)
        free = free_bytes()
        if free is not None and free - left > at:
            trim()
            left = free_bytes() or 0


def tune() -> bool:
    """Apply the settings above to this process; whether the C library took them."""
    libc = _libc()
    if libc is None:
        return False
    mallopt = libc.mallopt
    taken = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_ARENA_MAX, ARENAS))
    if not taken:
        log.info("malloc settings not applied (not glibc?)")
    return taken
