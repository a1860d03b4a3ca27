"""``python -m loadtests fleet ...``: the fleet load test (see ``loadtests.fleet``).

The older single-purpose benchmarks stay scripts: ``python loadtests/hub_bench.py``,
``loadtests/render_bench.py`` and ``loadtests/cli_startup_bench.py``.
"""

from __future__ import annotations

import argparse
import sys

from loadtests import fleet


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen load test."""
    parser = argparse.ArgumentParser(prog="python -m loadtests")
    commands = parser.add_subparsers(dest="command", required=True)
    fleet.add_arguments(commands.add_parser(
        "fleet", help="the hub against the floor of this machine on C clusters x A apps",
        description=(fleet.__doc__ or "").split("\n\n")[0]))
    args = parser.parse_args(argv)
    return fleet.main(args)


if __name__ == "__main__":
    sys.exit(main())
