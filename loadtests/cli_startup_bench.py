"""CLI start-up benchmark: how long ``fleetsync`` commands take before they do any work.

Runs each command N times as a fresh process (the installed ``fleetsync`` script next to
this interpreter, else ``python -m engine.cli``) and prints the median wall time and the
median CPU time (user + system, from ``resource.getrusage`` of the children). The commands
do almost nothing, so the figures are the cost of starting: the interpreter and imports.
``python -c pass`` is the floor no command can beat. Results are written as JSON under
loadtests/results/.

Usage: python loadtests/cli_startup_bench.py [--runs N] [--command PATH] [--label TEXT]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from loadtests.common import RESULTS, git_commit  # noqa: E402

# A refused connection: ``app list`` fails at once, so only start-up is measured.
DEAD_SERVER = "http://127.0.0.1:1"
KUSTOMIZATION = """resources: [configmap.yaml]
namePrefix: dev-
commonLabels: {app: demo}
"""
CONFIGMAP = """apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {colour: blue}
"""


@dataclass(frozen=True)
class Figure:
    """Median wall and CPU seconds of one command over ``runs`` runs, and its exit code."""

    command: str
    runs: int
    wall_s: float
    cpu_s: float
    exit_code: int


def fleetsync_command(explicit: str | None) -> list[str]:
    """How to run fleetsync: ``--command``, the script beside this Python, or ``-m``."""
    if explicit:
        return [explicit]
    script = Path(sys.executable).with_name("fleetsync")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "engine.cli"]


def write_overlay(root: Path) -> Path:
    """A one-object kustomization: render's work is negligible beside its start-up."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "kustomization.yaml").write_text(KUSTOMIZATION)
    (root / "configmap.yaml").write_text(CONFIGMAP)
    return root


def measure(label: str, argv: list[str], runs: int) -> Figure:
    """Run ``argv`` ``runs`` times (after one warm-up run); median wall and CPU seconds."""
    # As installed: bytecode is cached (the warm-up run writes what is missing or stale).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    walls, cpus, code = [], [], 0
    for attempt in range(runs + 1):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=env, check=False)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if attempt == 0:
            continue  # warm the page cache and the bytecode cache
        code = done.returncode
        walls.append(wall)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return Figure(label, runs, statistics.median(walls), statistics.median(cpus), code)


def commands(fleetsync: list[str], overlay: Path) -> list[tuple[str, list[str]]]:
    """The commands measured: label and argv."""
    rows = [
        ("--help", ["--help"]),
        ("render --help", ["render", "--help"]),
        ("render DIR", ["render", str(overlay)]),
        ("app list (refused connection)", ["app", "list", "--server", DEAD_SERVER]),
        ("app --help", ["app", "--help"]),
        ("serve --help", ["serve", "--help"]),
    ]
    floor = [("python -c pass (floor)", [sys.executable, "-c", "pass"])]
    return floor + [(label, fleetsync + args) for label, args in rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--command", default=None, help="fleetsync executable to measure")
    parser.add_argument("--label", default="", help="what is measured, kept in the JSON")
    args = parser.parse_args()
    fleetsync = fleetsync_command(args.command)
    with tempfile.TemporaryDirectory(prefix="fleetsync-cli-bench-") as scratch:
        overlay = write_overlay(Path(scratch) / "overlay")
        figures = [measure(label, argv, args.runs) for label, argv in commands(fleetsync, overlay)]
    print(f"{'command':32} {'wall ms':>9} {'CPU ms':>9} {'exit':>5}")
    for f in figures:
        print(f"{f.command:32} {f.wall_s * 1000:9.0f} {f.cpu_s * 1000:9.0f} {f.exit_code:5d}")
    when = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"cli_startup-{when}.json"
    out.write_text(json.dumps({
        "benchmark": "cli_startup", "when": when, "runs": args.runs, "label": args.label,
        "command": fleetsync, "commit": git_commit(),
        "python": platform.python_version(), "machine": platform.machine(),
        "cpus": os.cpu_count(), "load_average": os.getloadavg(),
        "figures": [asdict(f) for f in figures],
    }, indent=2) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
