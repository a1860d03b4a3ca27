"""The hub's malloc settings: memory a password hash used goes back to the system."""

from __future__ import annotations

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
