"""Where the hub's CPU goes during one phase of a fleet run: ``py-spy record`` attached to
the hub process (sampling from outside, ``--nonblocking``: the hub is never paused), its
collapsed stacks kept beside the JSON and summed into the top functions by own time and by
time including what they call. py-spy comes with the ``bench`` extra; ``--profile``
without it fails at the start of the run, not after an hour.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

RATE = 100  # samples a second
TOP = 15
# A thread pool's idle worker, blocked on its queue: py-spy may sample it as running.
WAITING = frozenset({"_worker (concurrent/futures/thread.py)"})
ATTACH_S = 1.0  # py-spy needs a moment to attach before the phase starts
ROOT = Path(__file__).resolve().parent.parent
_LIBRARY = re.compile(r"^.*(site-packages/|lib/python3\.\d+/)")
# py-spy --threads puts "thread (id): name" (or "thread (id)") first in each stack.
_THREAD = re.compile(r"^thread \((?P<id>[^)]*)\)(?:: (?P<name>.*))?$")
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^():]*)(?::\d+)?\)$")


def py_spy() -> str:
    """The py-spy executable beside this Python, or on PATH; SystemExit when there is none."""
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise SystemExit("--profile needs py-spy: pip install -e '.[bench]'")
    return found


class Profiler:
    """Profiles named phases of one process into ``<out>/<prefix>-profile-<phase>.txt``."""

    def __init__(self, *, pid: int, out: Path, prefix: str, enabled: bool,
                 gil: bool = False) -> None:
        self.pid, self.out, self.prefix, self.enabled = pid, out, prefix, enabled
        # Only the thread holding the GIL, under its thread's name: the samples are then
        # Python's work (and what runs without releasing the GIL), not waits for it.
        self.extra = ["--gil", "--threads"] if gil else []
        self.summaries: dict[str, dict[str, Any]] = {}

    @contextlib.asynccontextmanager
    async def during(self, phase: str) -> AsyncIterator[None]:
        """Sample the process while the block runs (nothing when not enabled)."""
        if not self.enabled:
            yield
            return
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / f"{self.prefix}-profile-{phase}.txt"
        process = await asyncio.create_subprocess_exec(
            py_spy(), "record", "--pid", str(self.pid), "--format", "raw",
            "--rate", str(RATE), "--nonblocking", *self.extra, "--output", str(path),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        await asyncio.sleep(ATTACH_S)
        try:
            yield
        finally:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            try:
                await asyncio.wait_for(process.wait(), 60)
            except TimeoutError:
                process.kill()
            if path.exists():
                self.summaries[phase] = summarise(path.read_text()) | {"file": path.name}


def summarise(collapsed: str, top: int = TOP) -> dict[str, Any]:
    """The top functions of collapsed stacks (``frame;frame;... count`` per line), as
    percentages of all samples: by own time (the innermost frame) and including callees.
    Samples of idle pool threads (``WAITING``) are counted apart, not in the percentages;
    stacks recorded under their thread (``--threads``) give each thread's share too."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    threads: Counter[str] = Counter()
    total = waiting = 0
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_function(f) for f in stack.split(";") if f]
        thread = _THREAD.match(frames[0]) if frames else None
        if thread is not None:
            frames = frames[1:]
        if not frames:
            continue
        if frames[-1] in WAITING:
            waiting += count
            continue
        total += count
        if thread is not None:
            threads[thread["name"] or thread["id"]] += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    found = {"samples": total, "waiting_samples": waiting,
             "own_percent": _percent(own, total, top),
             "inclusive_percent": _percent(inclusive, total, top)}
    if threads:
        found["threads_percent"] = _percent(threads, total, top)
    return found


def _function(frame: str) -> str:
    """``function (module path)`` without the line number, paths from ``site-packages`` or
    the repository root on."""
    found = _FRAME.match(frame.strip())
    if found is None:
        return frame.strip()
    file = _LIBRARY.sub("", found["file"].removeprefix(f"{ROOT}/"))
    return f"{found['function']} ({file})"


def _percent(counter: Counter[str], total: int, top: int) -> list[tuple[str, float]]:
    return [(name, round(100 * count / total, 1)) for name, count in counter.most_common(top)] \
        if total else []
