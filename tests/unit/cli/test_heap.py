"""The hub's malloc settings: memory a password hash used goes back to the system."""

from __future__ import annotations

import asyncio
import platform
import subprocess
import sys

import pytest

# In a fresh interpreter: import the hasher (its import hashes once), then hash in three
# threads and in the main thread, as logins do; print how much resident memory stayed.
SCRIPT = """
import sys, threading
from pathlib import Path
from engine.cli import heap
if sys.argv[1] == "tuned":
    assert heap.tune()
from engine.auth import passwords

def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

before = rss()
for _ in range(3):
    thread = threading.Thread(target=passwords.hash_password, args=("a password",))
    thread.start()
    thread.join()
passwords.hash_password("a password")
print(rss() - before)
"""


def _kept_mib(mode: str) -> float:
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True,
                          text=True, timeout=120, check=True)
    return float(done.stdout.strip())


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="not glibc: no mallopt")
def test_password_hashes_leave_no_resident_memory_behind() -> None:
    # A hash takes 19 MiB; without the settings glibc keeps it per arena used.
    assert _kept_mib("default") > 15
    assert _kept_mib("tuned") < 5


TRIM_SCRIPT = """
import sys
from pathlib import Path
from engine.cli import heap
assert heap.tune()

def rss():
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024

blocks = [bytes(2000) + bytes([i % 256]) for i in range(20_000)]  # 40 MB on the heap
kept = blocks[::16]  # one in 16 survives: the heap is mostly free, not at its top
del blocks
before = rss()
free = heap.free_bytes()
trimmed = heap.trim()
print(before - rss(), free, trimmed)
"""


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="not glibc: no malloc_trim")
def test_free_memory_inside_the_heap_is_given_back_by_a_trim() -> None:
    done = subprocess.run([sys.executable, "-c", TRIM_SCRIPT], capture_output=True,
                          text=True, timeout=120, check=True)
    released_mib, free, trimmed = done.stdout.split()
    assert int(free) > 30 * 2**20 and trimmed == "True"
    assert float(released_mib) > 25


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="not glibc: no malloc_trim")
def test_the_hub_trims_when_enough_more_of_the_heap_is_free_than_a_trim_left(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from engine.cli import heap

    # Looks: 1,000 free; 9,000 (trim; 6,000 left after it); 12,000 (only 6,000 more);
    # 20,000 (trim).
    free = iter([1_000, 9_000, 6_000, 12_000, 20_000, 1_000])
    looks: list[int] = []
    trims: list[int] = []
    monkeypatch.setattr(heap, "free_bytes", lambda: looks.append(1) or next(free))

    async def looking() -> None:
        second = asyncio.Event()

        def trim() -> bool:
            trims.append(len(looks))
            if len(trims) == 2:
                second.set()
            return True

        monkeypatch.setattr(heap, "trim", trim)
        task = asyncio.create_task(heap.keep_trimmed(interval=0.001, at=8_000))
        await second.wait()
        task.cancel()

    asyncio.run(asyncio.wait_for(looking(), 10))
    assert trims == [2, 5]
