"""Where the hub's memory goes: ``--memory-profile`` runs the hub under this module, which
starts ``tracemalloc`` before the hub's first import and writes a snapshot whenever the
harness asks for one (a request file in the output directory, polled by a thread, so the
hub's event loop and signal handlers are left alone).

Each snapshot says how much of the RSS Python objects hold (traced memory) and how much
glibc's heap holds free (``mallinfo2``: fragmentation, arenas of other threads), the
lines of ``engine/`` that allocated the most of what is still alive (each allocation is
charged to the innermost ``engine/`` frame of its traceback), the top lines overall, and
the live objects by type. tracemalloc costs memory and time of its own: a run with it
measures where memory goes, not how much there is; read the RSS of a run without it.
``--light`` (``--memory-stats`` of the fleet run) leaves tracemalloc off: RSS, glibc's
heap, Python's own allocator (pymalloc's arenas: what its blocks hold and what is free in
them) and the objects by type, at the cost of a look, so the run's figures stay
comparable.

``python -m loadtests.memtrace OUT_DIR [--light] serve --config fleetsync.yaml``
"""

from __future__ import annotations

import gc
import os
import re
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

FRAMES = 12  # deep enough to get from a library's allocation back to engine/ code
POLL_S = 0.5
TOP = 30
REQUEST = ".request"
ENGINE = "/engine/"


def malloc_state() -> dict[str, float]:
    """glibc's heap in MiB: obtained from the system by brk/arenas, by mmap, in use, free
    (``engine.cli.heap.mallinfo``; empty without glibc)."""
    from engine.cli import heap

    info = heap.mallinfo()
    if not info:
        return {}
    mib = 2.0**20
    return {"heap_mib": info["arena"] / mib, "mmapped_mib": info["hblkhd"] / mib,
            "in_use_mib": info["uordblks"] / mib, "free_mib": info["fordblks"] / mib,
            "releasable_top_mib": info["keepcost"] / mib}


def rss_mib() -> dict[str, float]:
    """VmRSS and VmHWM of this process, MiB."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            found[name] = int(value.split()[0]) / 1024
    return found


def engine_frame(trace: tracemalloc.Traceback) -> str:
    """The innermost ``engine/`` frame of ``trace`` (a Traceback lists the oldest frame
    first), or its innermost frame when no engine code is on it."""
    for frame in reversed(trace):
        if ENGINE in frame.filename:
            return f"{frame.filename.rsplit(ENGINE, 1)[1]}:{frame.lineno}"
    frame = trace[-1]
    return f"{_short(frame.filename)}:{frame.lineno}"


def _short(filename: str) -> str:
    for marker in ("site-packages/", "lib/python3."):
        if marker in filename:
            return filename.rsplit(marker, 1)[1]
    return filename


_PYMALLOC = re.compile(r"^# (arenas allocated current|bytes in allocated blocks|"
                       r"bytes in available blocks)\s*=\s*([\d,]+)", re.MULTILINE)
_UNUSED_POOLS = re.compile(r"^\d+ unused pools \* \d+ bytes\s*=\s*([\d,]+)", re.MULTILINE)


def pymalloc_state() -> dict[str, float]:
    """pymalloc's arenas in MiB: held, in its live blocks, free in used pools, in unused
    pools (``sys._debugmallocstats``, which writes to file descriptor 2: borrowed briefly)."""
    with tempfile.TemporaryFile() as out:
        saved = os.dup(2)
        try:
            sys.stderr.flush()
            os.dup2(out.fileno(), 2)
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        out.seek(0)
        text = out.read().decode(errors="replace")
    found = {name: int(value.replace(",", "")) for name, value in _PYMALLOC.findall(text)}
    unused = _UNUSED_POOLS.search(text)
    mib = 2.0**20
    return {"arenas_mib": found.get("arenas allocated current", 0) * 1.0,  # 1 MiB each
            "in_blocks_mib": found.get("bytes in allocated blocks", 0) / mib,
            "free_blocks_mib": found.get("bytes in available blocks", 0) / mib,
            "unused_pools_mib": int(unused.group(1).replace(",", "")) / mib if unused else 0.0}


def light_report(top: int = TOP) -> dict[str, Any]:
    """RSS, glibc's heap, pymalloc's arenas and the objects by type, without tracemalloc."""
    types = Counter(type(o).__name__ for o in gc.get_objects())
    return {"rss": rss_mib(), "malloc": malloc_state(), "pymalloc": pymalloc_state(),
            "gc_objects_by_type": dict(types.most_common(top))}


def snapshot_report(top: int = TOP) -> dict[str, Any]:
    """What is alive now, and who allocated it."""
    if not tracemalloc.is_tracing():
        return light_report(top)
    gc.collect()
    snapshot = tracemalloc.take_snapshot()
    by_engine: Counter[str] = Counter()
    blocks: Counter[str] = Counter()
    for stat in snapshot.statistics("traceback"):
        where = engine_frame(stat.traceback)
        by_engine[where] += stat.size
        blocks[where] += stat.count
    by_line = snapshot.statistics("lineno")[:top]
    types = Counter(type(o).__name__ for o in gc.get_objects())
    current, peak = tracemalloc.get_traced_memory()
    mib = 2.0**20
    return {
        "rss": rss_mib(), "traced_mib": current / mib, "traced_peak_mib": peak / mib,
        "tracemalloc_overhead_mib": tracemalloc.get_tracemalloc_memory() / mib,
        "malloc": malloc_state(), "pymalloc": pymalloc_state(),
        "by_engine_line": [{"where": w, "mib": round(s / mib, 2), "blocks": blocks[w]}
                           for w, s in by_engine.most_common(top)],
        "by_line": [{"where": f"{_short(s.traceback[0].filename)}:{s.traceback[0].lineno}",
                     "mib": round(s.size / mib, 2), "blocks": s.count} for s in by_line],
        "gc_objects_by_type": dict(types.most_common(top)),
    }


def serve_requests(out: Path, stop: threading.Event | None = None) -> None:
    """Answer each ``<name>.request`` in ``out`` with ``<name>.json`` until ``stop``."""
    import json

    while stop is None or not stop.is_set():
        for request in sorted(out.glob(f"*{REQUEST}")):
            report = snapshot_report()
            target = request.with_suffix(".json")
            target.write_text(json.dumps(report, indent=1))
            request.unlink()
        time.sleep(POLL_S)


def main(argv: list[str]) -> int:
    """Trace allocations (unless ``--light``), answer snapshot requests in ``argv[0]``, run
    ``fleetsync`` with the rest."""
    out, light = Path(argv[0]), argv[1:2] == ["--light"]
    argv = argv[2:] if light else argv[1:]
    out.mkdir(parents=True, exist_ok=True)
    if not light:
        tracemalloc.start(FRAMES)
    threading.Thread(target=serve_requests, args=(out,), daemon=True,
                     name="memtrace").start()
    from engine.cli import main as fleetsync

    return fleetsync(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))


class Snapshots:
    """The harness's side: asks the hub for a snapshot at the end of named phases (nothing
    when ``out`` is None) and keeps the reports by phase."""

    def __init__(self, out: Path | None, timeout: float = 600.0, *, light: bool = False) -> None:
        self.out, self.timeout, self.light = out, timeout, light
        self.reports: dict[str, dict[str, Any]] = {}

    def argv(self) -> list[str]:
        """What runs the hub under this module, before ``serve ...``."""
        if self.out is None:
            return []
        return ["-m", "loadtests.memtrace", str(self.out), *(["--light"] if self.light else [])]

    async def take(self, phase: str) -> None:
        """Ask for a snapshot named ``phase`` and wait for it (bounded)."""
        import asyncio
        import json

        if self.out is None:
            return
        answer = self.out / f"{phase}.json"
        (self.out / f"{phase}{REQUEST}").touch()
        deadline = time.monotonic() + self.timeout
        while not answer.exists() or (self.out / f"{phase}{REQUEST}").exists():
            if time.monotonic() > deadline:
                raise TimeoutError(f"no memory snapshot {phase} in {self.timeout:.0f} s")
            await asyncio.sleep(POLL_S)
        self.reports[phase] = json.loads(answer.read_text())
