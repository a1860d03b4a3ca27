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

Other C libraries (musl) have no ``mallopt``: then nothing is changed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc's mallopt parameters (malloc.h)
M_ARENA_MAX = -8
MMAP_THRESHOLD = 256 * 1024
ARENAS = 2


def tune() -> bool:
    """Apply the settings above to this process; whether the C library took them."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    taken = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(M_ARENA_MAX, ARENAS))
    if not taken:
        log.info("malloc settings not applied (not glibc?)")
    return taken
