"""The hub's garbage collector settings: rarer passes, startup objects left out (each in
a fresh interpreter, so this test process keeps its own settings)."""

from __future__ import annotations

import subprocess
import sys

PASSES = """
import gc, sys
from engine.cli import collector
if sys.argv[1] == "tuned":
    collector.tune()
full = []
gc.callbacks.append(lambda phase, info: full.append(1)
                    if phase == "stop" and info["generation"] == 2 else None)
kept = [[i] for i in range(300_000)]  # long-lived (tracked) objects, as in the caches
print(len(full))
"""

FREEZE = """
import gc
from engine.cli import collector
before = len(gc.get_objects())
frozen = collector.freeze()
print(frozen >= before // 2, len(gc.get_objects()) < before // 10)
"""


def run(code: str, *args: str) -> str:
    return subprocess.run([sys.executable, "-c", code, *args], check=True, text=True,
                          capture_output=True, timeout=60).stdout.strip()


def test_tuned_thresholds_make_full_passes_rarer() -> None:
    default, tuned = int(run(PASSES, "default")), int(run(PASSES, "tuned"))
    assert default >= 2  # the default looks at every object again and again
    assert tuned < default / 2


def test_freeze_leaves_what_exists_out_of_later_passes() -> None:
    assert run(FREEZE) == "True True"
