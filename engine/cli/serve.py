"""``fleetsync serve --config fleetsync.yaml``: run the hub until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from engine.cli import add_command, collector, heap

SWITCH_INTERVAL = 0.001  # seconds a thread waits for the GIL before asking for it

if TYPE_CHECKING:
    from engine.hub.hub import Hub


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``serve`` command."""
    parser = add_command(sub, "serve")
    parser.add_argument("--config", type=Path, default=Path("fleetsync.yaml"),
                        help="hub configuration (default ./fleetsync.yaml)")
    parser.add_argument("--log-level", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    parser.set_defaults(handler=_serve)


def _serve(args: argparse.Namespace) -> int:
    return run_hub(args.config, log_level=args.log_level)


def run_hub(config_path: Path, *, log_level: str) -> int:
    """Run the hub of ``config_path`` on uvloop until SIGINT or SIGTERM."""
    heap.tune()  # before the hub's imports: one of them hashes a password
    collector.tune()
    # The render's and the store's read thread take the GIL back after each file read or
    # SQLite call; at Python's default 5 ms interval each such hand-back can wait that long
    # behind the event loop (measured on the SQLite writes, which then ran on a thread of
    # their own: 0.1 to 0.2 s each in a shared-base commit; README, the late-night runs).
    sys.setswitchinterval(SWITCH_INTERVAL)
    import uvloop

    from engine.config.hub import load_config
    from engine.hub.hub import Hub

    logging.basicConfig(level=log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = load_config(config_path)
    return uvloop.run(_run(Hub(config)))


async def _run(hub: Hub) -> int:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, hub.stop)
    task = asyncio.create_task(hub.run())
    ready = asyncio.create_task(hub.ready.wait())
    trimming = asyncio.create_task(heap.keep_trimmed())
    await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
    collector.freeze()  # what the hub was built of lives as long as the process
    if hub.listening:
        host, port = hub.listening
        print(f"fleetsync hub: dashboard and API at http://{host}:{port}/", file=sys.stderr,
              flush=True)
    await task
    ready.cancel()
    trimming.cancel()
    return 0
