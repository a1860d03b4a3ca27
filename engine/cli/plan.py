"""``fleetsync plan``: what a revision would do to every target of a hub, nothing written.

The hub compares each target whose files change between the base and the revision by
server-side dry runs (``GET /api/v1/plan``, ``engine.hub.plans``). Printed as a table
(with each object's action and changed fields), as Markdown to paste into a pull request,
or as the API's JSON/YAML. Exit 0 when nothing would change, 1 when something would, 2 when
a target could not be planned (Git, render or cluster errors; blocked by its AppProject).
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from typing import Any

from engine.cli import add_command
from engine.cli.hubconn import add_hub_options, server_and_token
from engine.cli.output import clean, object_name, print_body, table

PLAN_REQUEST_TIMEOUT = 600.0  # seconds: a plan of a fleet dry-runs every changed object
FORMATS = ("table", "wide", "markdown", "json", "yaml")
MAX_MARKDOWN_DIFF = 4000  # characters of one object's diff in Markdown (a PR comment)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``plan`` command."""
    parser = add_command(sub, "plan")
    parser.add_argument("--revision", required=True,
                        help="the branch, tag or commit to plan (e.g. a pull request's)")
    parser.add_argument("--base", help="compare files from this revision (default: the one "
                                       "each app follows)")
    parser.add_argument("--app", action="append", dest="apps", metavar="APP",
                        help="plan only this app (repeatable; default: every app you may read)")
    add_hub_options(parser)
    parser.add_argument("-o", "--output", choices=FORMATS, default="table",
                        help="table (default), wide (with diffs), markdown (for a pull "
                             "request), or the API's answer as json or yaml")
    parser.set_defaults(handler=_handle)


def _handle(args: argparse.Namespace) -> int:
    import asyncio

    body = asyncio.run(_request(args))
    if not print_body(body, args.output):
        sys.stdout.write(markdown(body) if args.output == "markdown"
                         else text(body, diffs=args.output == "wide"))  # fmt: skip
    return exit_code(body)


async def _request(args: argparse.Namespace) -> Any:
    from engine.api.client import HubClient

    server, token, timeout = server_and_token(args)
    if args.request_timeout is None:
        timeout = PLAN_REQUEST_TIMEOUT
    params: list[tuple[str, str]] = [("revision", args.revision)]
    params += [("base", args.base)] if args.base else []
    params += [("app", app) for app in args.apps or ()]
    async with HubClient(server, token=token, timeout=timeout) as hub:
        return await hub.get("/plan", params=params)


def exit_code(body: dict[str, Any]) -> int:
    """0 nothing would change, 1 something would, 2 a target could not be planned."""
    states = {t["state"] for t in body["targets"]}
    if states & {"Error", "Blocked"}:
        return 2
    return 1 if "Changes" in states else 0


def text(body: dict[str, Any], *, diffs: bool = False) -> str:
    """The plan for a terminal: one row per target, each object it would act on, the
    fleet's counts."""
    rows = [(t["app"], t["cluster"], t["state"], *_counts(t), _note(t)) for t in body["targets"]]
    out = [table(["app", "cluster", "state", "create", "update", "prune", "note"], rows)]
    for target in body["targets"]:
        if not target["objects"]:
            continue
        out.append(f"\n===== {clean(target['app'])} on {clean(target['cluster'])}\n")
        for obj in target["objects"]:
            fields = f"  ({', '.join(clean(p) for p in obj['paths'])})" if obj["paths"] else ""
            out.append(f"{clean(obj['action']):>7} {object_name(obj)}{fields}\n")
            if diffs and obj["diff"]:
                out.extend(f"        {clean(line)}\n" for line in obj["diff"].splitlines())
    out.append("\n" + _summary_line(body) + "\n")
    return "".join(out)


def markdown(body: dict[str, Any]) -> str:
    """The plan as Markdown for a pull request: counts, a table of the targets that change
    or failed, and per target its objects with their diffs (folded)."""
    lines = [f"### fleetsync plan of `{_code(body['revision'])}`", "",
             _summary_line(body), ""]  # fmt: skip
    shown = [t for t in body["targets"] if t["state"] not in ("Unchanged", "NoChanges", "Skipped")]
    if shown:
        lines += ["| app | cluster | state | create | update | prune | note |",
                  "|---|---|---|---|---|---|---|"]  # fmt: skip
        lines += [f"| {_md(t['app'])} | {_md(t['cluster'])} | {t['state']} | "
                  + " | ".join(str(n) for n in _counts(t)) + f" | {_md(_note(t))} |"
                  for t in shown]  # fmt: skip
    for target in shown:
        if not target["objects"]:
            continue
        lines += ["", f"<details><summary>{_html(target['app'])} on {_html(target['cluster'])}: "
                      f"{len(target['objects'])} object(s)</summary>", ""]  # fmt: skip
        for obj in target["objects"]:
            lines.append(f"- **{obj['action']}** {_md(object_name(obj))}")
            if obj["diff"]:
                fence = "`" * max(3, _longest_backticks(obj["diff"]) + 1)
                lines += ["", f"{fence}diff", obj["diff"][:MAX_MARKDOWN_DIFF].rstrip("\n"),
                          fence, ""]  # fmt: skip
        lines += ["", "</details>"]
    return "\n".join(lines) + "\n"


def _counts(target: dict[str, Any]) -> tuple[int, int, int]:
    actions = [o["action"] for o in target["objects"]]
    return actions.count("create"), actions.count("update"), actions.count("prune")


def _note(target: dict[str, Any]) -> str:
    if target["pruneHeld"]:
        return f"prune held: {target['pruneHeld']}"
    kept = sum(o["action"] == "keep" for o in target["objects"])
    if kept:
        return f"{kept} object(s) left in the cluster (prune is off)"
    return str(target["message"])


def _summary_line(body: dict[str, Any]) -> str:
    s = body["summary"]
    return (f"{s['Changes']} of {s['targets']} target(s) change ({s['appsChanging']} app(s) on "
            f"{s['clustersChanging']} cluster(s)): {s['created']} object(s) created, "
            f"{s['changed']} updated, {s['pruned']} deleted by prune; "
            f"{s['pruneHeld']} prune(s) held, {s['Blocked']} blocked, {s['Error']} failed, "
            f"{s['Unchanged']} unchanged, {s['Skipped']} skipped")


def _md(value: Any) -> str:
    """A value as inert Markdown text on one line (names come from repositories)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", clean(value))


def _html(value: Any) -> str:
    """A value as inert text inside an HTML block (where Markdown escapes do not apply)."""
    return html.escape(clean(value))


def _code(value: Any) -> str:
    return clean(value).replace("`", "'")


def _longest_backticks(text_: str) -> int:
    runs = re.findall(r"`+", text_)
    return max((len(r) for r in runs), default=0)
