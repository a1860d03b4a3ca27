"""``fleetsync cluster list`` and ``fleetsync project list``: what a hub shows its caller.

Both list only what the caller's roles let it read, as the API does; ``-o json`` or
``-o yaml`` print the API's answer.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from engine.cli import add_command
from engine.cli.hubconn import add_hub_options, server_and_token
from engine.cli.output import add_output_option, print_body, table


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``cluster`` and ``project`` groups."""
    for name, summary in (("cluster", "registered clusters and whether the hub reaches them"),
                          ("project", "AppProjects: repositories and destinations allowed")):
        group = add_command(sub, name)
        commands = group.add_subparsers(dest="list_command", required=True, metavar="COMMAND")
        listing = commands.add_parser("list", help=summary, description=summary)
        add_hub_options(listing)
        add_output_option(listing)
        listing.set_defaults(handler=_list, what=f"{name}s")


def _list(args: argparse.Namespace) -> int:
    import asyncio

    from engine.api.client import HubClient

    server, token, timeout = server_and_token(args)

    async def fetch() -> Any:
        async with HubClient(server, token=token, timeout=timeout) as hub:
            return await hub.get(f"/{args.what}")

    body = asyncio.run(fetch())
    if print_body(body, args.output):
        return 0
    if args.what == "clusters":
        rows = [[c["name"], c["server"], "yes" if c["reachable"] else "no",
                 ",".join(f"{k}={v}" for k, v in sorted(c["labels"].items())), c["lastError"]]
                for c in body["clusters"]]
        sys.stdout.write(table(["name", "server", "reachable", "labels", "error"], rows))
    else:
        rows = [[p["name"], p["apps"], ", ".join(p["sourceRepos"]), ", ".join(p["destinations"]),
                 p["description"]] for p in body["projects"]]
        sys.stdout.write(table(["name", "apps", "repositories", "destinations", "description"],
                               rows))
    return 0
