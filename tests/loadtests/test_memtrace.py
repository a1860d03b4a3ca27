"""The memory profile of a fleet run: allocations charged to engine/ lines, and snapshots
taken on request while tracemalloc runs."""

from __future__ import annotations

import asyncio
import threading
import tracemalloc
from pathlib import Path

from loadtests.memtrace import Snapshots, engine_frame, serve_requests


def test_an_allocation_is_charged_to_the_innermost_engine_frame() -> None:
    # tracemalloc hands frames most recent first; a Traceback lists them oldest first.
    raw = (("/venv/lib/python3.11/site-packages/yaml/constructor.py", 9),
           ("/repo/engine/render/loader.py", 40),
           ("/repo/engine/render/build.py", 12),
           ("/repo/engine/cli/__main__.py", 5))
    assert engine_frame(tracemalloc.Traceback(raw)) == "render/loader.py:40"
    assert engine_frame(tracemalloc.Traceback(raw[:1])) == "yaml/constructor.py:9"


def test_a_requested_snapshot_shows_what_an_engine_line_keeps_alive(tmp_path: Path) -> None:
    stop = threading.Event()
    tracemalloc.start(12)
    server = threading.Thread(target=serve_requests, args=(tmp_path, stop), daemon=True)
    server.start()
    try:
        kept = [bytes(1024) + bytes([i % 256]) for i in range(2_000)]
        snapshots = Snapshots(tmp_path, timeout=60)
        asyncio.run(snapshots.take("now"))
    finally:
        stop.set()
        server.join(10)
        tracemalloc.stop()
    report = snapshots.reports["now"]
    assert report["traced_mib"] > 0 and report["rss"]["VmRSS"] > 0
    lines = {e["where"]: e for e in report["by_line"]}
    here = next(w for w in lines if w.rsplit(":", 1)[0] == __file__)
    assert lines[here]["blocks"] >= len(kept) and lines[here]["mib"] >= 1.9
    assert not (tmp_path / "now.request").exists()


def test_pymalloc_state_reads_the_allocators_own_figures() -> None:
    from loadtests.memtrace import pymalloc_state

    found = pymalloc_state()
    assert found["arenas_mib"] >= 1 and 0 < found["in_blocks_mib"] <= found["arenas_mib"]
