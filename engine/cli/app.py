"""``fleetsync app``: list, inspect, sync, refresh, roll back and delete apps of a hub.

Every command talks to the hub's REST API with the server and token of
``engine.cli.hubconn`` (``fleetsync login`` stores them); the hub records the account
of the token as the one who asked.
``list``, ``get`` and ``history`` print tables, and every command prints the API's JSON
with ``-o json``. An unreachable hub or an error answer is one line on stderr, exit 1.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from engine.cli import add_command
from engine.cli.hubconn import add_hub_options, server_and_token
from engine.cli.output import add_output_option, clean, object_name, print_body, table

if TYPE_CHECKING:  # the client is imported only when a command runs (start-up time)
    from engine.api.client import HubClient

WAIT_POLL = 2.0
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x9b]")  # terminal escapes


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``app`` command group."""
    parser = add_command(sub, "app")
    commands = parser.add_subparsers(dest="app_command", required=True, metavar="COMMAND")
    _command(commands, "list", "list apps with each cluster's sync and health")
    _command(commands, "get", "show one app: settings, status per cluster, resources", app=True)
    history = _command(commands, "history", "show an app's sync history", app=True)
    history.add_argument("--cluster", help="only this cluster's history")
    history.add_argument("--limit", type=int, help="at most this many entries")
    sync = _command(commands, "sync", "sync an app now", app=True)
    sync.add_argument("--cluster", help="only this cluster (default: every cluster)")
    sync.add_argument("--revision", help="sync this revision instead of the declared one")
    sync.add_argument(
        "--prune",
        action="store_true",
        default=None,
        help="prune objects no longer in Git, whatever the app's policy says",
    )
    sync.add_argument("--dry-run", dest="dry_run", action="store_true",
                      help="only show what the sync would do to each object, by server-side "
                           "dry runs (exit 0 nothing to do, 1 changes, 2 a cluster could not "
                           "be compared); nothing is written")
    sync.add_argument("--wait", action="store_true",
                      help="show the sync's progress until it ends (exit 1 if it failed, "
                           "2 after --timeout)")
    sync.add_argument("--timeout", "--wait-timeout", dest="wait_timeout", default="5m",
                      help="with --wait: give up after this long (default 5m)")
    sync.add_argument("--resource", action="append", dest="resources", metavar="GROUP:KIND:NAME",
                      help="sync only this object (repeatable; NAMESPACE/NAME for a namespaced "
                           "one outside the app's namespace; an empty GROUP for the core API)")
    diff = _command(commands, "diff", "compare an app with Git now and show what differs "
                    "(exit 0 in sync, 1 differences, 2 a cluster could not be compared)",
                    app=True)
    diff.add_argument("--cluster", help="only this cluster")
    refresh = _command(
        commands, "refresh", "compare an app with Git and its clusters now", app=True
    )
    refresh.add_argument("--hard", action="store_true",
                         help="also drop its renders and dry-run every object again")
    rollback = _command(
        commands,
        "rollback",
        "sync the revision of a history entry and turn automated sync off",
        app=True,
    )
    rollback.add_argument("id", type=int, nargs="?", help="history entry (default: previous)")
    rollback.add_argument("--cluster", help="only this cluster")
    delete = _command(
        commands, "delete", "confirm the held deletion of an app whose definition is gone "
        "(an app is deleted by removing it from its file or Git directory)", app=True)
    delete.add_argument("--cascade", default="true", choices=("true", "false"),
                        help="delete its objects (default) or leave them in the clusters")
    delete.add_argument("--propagation-policy", dest="propagation",
                        choices=("foreground", "background"),
                        help="how its objects are deleted (default: as its finalizer says)")
    _command(commands, "deletions", "list app deletions held or running")
    _command(commands, "approve", "let an app's rollout go on past a pause that waits for "
             "approval", app=True)
    wait = _command(commands, "wait", "wait until an app is synced and healthy everywhere "
                    "(exit 0; 2 when the timeout passes first)", app=True)
    wait.add_argument("--sync", action="store_true", help="wait for Synced (alone: not Healthy)")
    wait.add_argument("--health", action="store_true", help="wait for Healthy (alone: not Synced)")
    wait.add_argument("--timeout", "--wait-timeout", dest="wait_timeout", default="5m",
                      help="give up after this long (default 5m; 30s, 10m, seconds)")


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    help: str,
    *,
    app: bool = False,
) -> argparse.ArgumentParser:
    parser = commands.add_parser(name, help=help, description=help)
    if app:
        parser.add_argument("app", help="application name")
    # Defaults are filled in by the handler: the HTTP client is imported only to be used.
    add_hub_options(parser)
    add_output_option(parser)
    parser.set_defaults(handler=_handle)
    return parser


def _handle(args: argparse.Namespace) -> int:
    import asyncio

    if args.app_command == "wait":
        return asyncio.run(_wait(args))
    if args.app_command == "sync" and args.dry_run and (args.wait or args.revision):
        raise SystemExit("--dry-run compares the app's own revision now: no --wait or --revision")
    if args.app_command == "sync" and args.wait:
        return asyncio.run(_sync_and_follow(args))
    body = asyncio.run(_request(args))
    if args.app_command == "sync" and args.dry_run:
        shown = print_body(body, args.output)
        return dry_run_exit_code(body) if shown else print_dry_run(body)
    if args.app_command == "diff":
        shown = print_body(body, args.output)
        return diff_exit_code(body) if shown else print_diff(body)
    if print_body(body, args.output):
        return 0
    if args.app_command == "list":
        print_apps(body, wide=args.output == "wide")
        return 0
    printers = {"get": print_app, "history": print_history, "delete": print_deletion,
                "deletions": print_deletions, "approve": print_rollout}
    printers.get(args.app_command, print_queued)(body)
    return 0


async def _wait(args: argparse.Namespace) -> int:
    """Poll the app until every cluster is as asked (exit 0) or the timeout passes (exit 2);
    each change of state is printed on stderr as it happens."""
    from engine.api.client import HubClient

    server, token, timeout = server_and_token(args)
    want_sync, want_health = (args.sync or not args.health), (args.health or not args.sync)

    def check(app: dict[str, Any]) -> tuple[str, int | None]:
        state, done = _wait_state(app, want_sync, want_health)
        return state, 0 if done else None

    async with HubClient(server, token=token, timeout=timeout) as hub:
        return await _follow(hub, args, check)


async def _sync_and_follow(args: argparse.Namespace) -> int:
    """Queue the sync, then print each change of its targets' operations on stderr until
    every one queued has a new operation that ended: 0 if all Succeeded, 1 if not, 2 when
    the timeout passes first."""
    from engine.api.client import HubClient

    server, token, timeout = server_and_token(args)
    path = f"/apps/{quote(args.app, safe='')}"
    async with HubClient(server, token=token, timeout=timeout) as hub:
        before = _operation_ids(await hub.get(path))
        queued = {k["cluster"] for k in (await hub.post(f"{path}/sync", _sync_body(args)))
                  ["queued"]}  # fmt: skip
        print_queued({"queued": [{"app": args.app, "cluster": c} for c in sorted(queued)]})

        def check(app: dict[str, Any]) -> tuple[str, int | None]:
            targets = [t for t in app["targets"] if t["cluster"] in queued]
            ops = {t["cluster"]: t["operation"] or {} for t in targets}
            ended = {c: op for c, op in ops.items()
                     if op.get("id") != before.get(c) and op.get("phase") != "Running"}
            state = ", ".join(
                f"{t['cluster']} {_progress(ops[t['cluster']], before.get(t['cluster']))}"
                f" {t['sync']}/{t['health']}" for t in targets)
            if len(ended) < len(queued):
                return clean(state), None
            return clean(state), 0 if all(op.get("phase") == "Succeeded"
                                          for op in ended.values()) else 1

        return await _follow(hub, args, check)


async def _follow(hub: HubClient, args: argparse.Namespace,
                  check: Callable[[dict[str, Any]], tuple[str, int | None]]) -> int:  # fmt: skip
    """Poll ``args.app`` until ``check`` gives an exit code (or ``--timeout`` passes:
    2), printing each new state line on stderr."""
    import asyncio
    import time

    from engine.durations import parse_duration

    deadline = time.monotonic() + parse_duration(args.wait_timeout)
    path = f"/apps/{quote(args.app, safe='')}"
    shown = ""
    while True:
        state, code = check(await hub.get(path))
        if state != shown:
            sys.stderr.write(f"{args.app}: {state}\n")
            shown = state
        if code is not None:
            return code
        if time.monotonic() >= deadline:
            sys.stderr.write(f"{args.app}: not done after {args.wait_timeout}\n")
            return 2
        await asyncio.sleep(min(WAIT_POLL, max(0.0, deadline - time.monotonic())))


def _sync_body(args: argparse.Namespace) -> dict[str, Any]:
    """The API's body of ``app sync``."""
    return _present(cluster=args.cluster, revision=args.revision, prune=args.prune,
                    resources=_selected(args.resources), dryRun=args.dry_run or None)


def _operation_ids(app: dict[str, Any]) -> dict[str, Any]:
    return {t["cluster"]: (t["operation"] or {}).get("id") for t in app["targets"]}


def _progress(op: dict[str, Any], before: Any) -> str:
    """How the sync of one target stands: queued (its operation is still the one of
    ``before``), running, or how it ended."""
    if not op or op.get("id") == before:
        return "queued"
    message = f" ({op['message']})" if op.get("message") else ""
    return f"{op['phase'].lower()}{message}"


def _wait_state(app: dict[str, Any], sync: bool, health: bool) -> tuple[str, bool]:
    """One line of every target's state, and whether each is as wanted."""
    targets = app["targets"]
    done = bool(targets) and all(
        (not sync or t["sync"] == "Synced") and (not health or t["health"] == "Healthy")
        and (t["operation"] or {}).get("phase") != "Running" for t in targets)
    line = ", ".join(f"{t['cluster']} {t['sync']}/{t['health']}" for t in targets)
    return line or "no cluster", done


async def _request(args: argparse.Namespace) -> Any:
    from engine.api.client import HubClient

    server, token, timeout = server_and_token(args)
    async with HubClient(server, token=token, timeout=timeout) as hub:
        command = args.app_command
        if command == "list":
            return await hub.get("/apps")
        if command == "deletions":
            return await hub.get("/deletions")
        path = f"/apps/{quote(args.app, safe='')}"
        if command == "get":
            return await hub.get(path)
        if command == "history":
            params = _present(
                cluster=args.cluster, limit=None if args.limit is None else str(args.limit)
            )
            return await hub.get(f"{path}/history", params=params)
        if command == "diff":
            return await hub.get(f"{path}/diff", params=_present(cluster=args.cluster))
        if command == "refresh":
            return await hub.post(f"{path}/refresh", params={"hard": str(args.hard).lower()})
        if command == "delete":
            params = _present(cascade=args.cascade, propagation=args.propagation)
            return await hub.delete(path, params=params)
        if command == "sync":
            return await hub.post(f"{path}/sync", _sync_body(args))
        if command == "approve":
            return await hub.post(f"{path}/rollout/approve")
        return await hub.post(f"{path}/rollback", _present(cluster=args.cluster, id=args.id))


def _selected(resources: list[str] | None) -> list[dict[str, str]] | None:
    """``GROUP:KIND:[NAMESPACE/]NAME`` arguments as the API's resources (argocd's form)."""
    if not resources:
        return None
    found = []
    for raw in resources:
        parts = raw.split(":")
        if len(parts) != 3 or not parts[1] or not parts[2]:
            raise SystemExit(f"--resource {raw!r}: expected GROUP:KIND:NAME")
        group, kind, name = parts
        namespace, _, name = name.rpartition("/")
        found.append({"group": group, "kind": kind, "namespace": namespace, "name": name}
                     if namespace else {"group": group, "kind": kind, "name": name})
    return found


def _present(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def diff_exit_code(body: dict[str, Any]) -> int:
    """0 when every cluster is in sync, 1 when something differs, 2 when a cluster could
    not be compared (as ``argocd app diff`` and ``kubectl diff`` tell scripts)."""
    if any(t["error"] for t in body["targets"]):
        return 2
    return 1 if any(o["sync"] != "Synced" for t in body["targets"] for o in t["objects"]) else 0


def dry_run_exit_code(body: dict[str, Any]) -> int:
    """0 when the sync would do nothing, 1 when it would change something, 2 when a cluster
    could not be compared."""
    if any(t["error"] for t in body["targets"]):
        return 2
    changes = {"create", "update", "prune"}
    return 1 if any(o["action"] in changes for t in body["targets"] for o in t["objects"]) else 0


def print_dry_run(body: dict[str, Any]) -> int:
    """``app sync --dry-run``: per cluster, what the sync would do to each object it would
    touch; the exit code of ``dry_run_exit_code``."""
    for cluster, target in _compared(body):
        acting = [o for o in target["objects"] if o["action"] != "none"]
        print(f"===== {cluster}: {len(acting)} of {len(target['objects'])} object(s) "
              f"would change (dry run, nothing written)")
        for obj in acting:
            note = " (not in Git; prune is off)" if obj["action"] == "keep" else ""
            print(f"{clean(obj['action']):>7} {object_name(obj)}{note}")
    return dry_run_exit_code(body)


def print_diff(body: dict[str, Any]) -> int:
    """``app diff``: per cluster, each differing object, who drifted it, its diff; the
    exit code of ``diff_exit_code``."""
    for cluster, target in _compared(body):
        differing = [o for o in target["objects"] if o["sync"] != "Synced"]
        print(f"===== {cluster}: {clean(target['sync'])}, {len(differing)} of "
              f"{len(target['objects'])} object(s) differ")
        for obj in differing:
            state = f"{clean(obj['sync'])} ({clean(obj['reason'])})"
            print(f"--- {object_name(obj)}: {state}")
            for drift in obj["drift"]:
                by = clean(drift["manager"]) if drift["manager"] else "fleetsync or nobody"
                print(f"    {clean(drift['path'])} changed by {by} "
                      f"({clean(drift['operation'])}, {clean(drift['time'])})")
            # Diff lines keep their text; only control characters are made visible.
            for line in obj["diff"].splitlines():
                print(_UNSAFE.sub("?", line))
    return diff_exit_code(body)


def _compared(body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each cluster of a diff or dry run that could be compared, its name made safe to
    print; why the others could not, on stderr."""
    for target in body["targets"]:
        cluster = clean(target["cluster"])
        if target["error"]:
            sys.stderr.write(f"{cluster}: cannot compare: {clean(target['error'])}\n")
            continue
        yield cluster, target


def print_deletion(body: dict[str, Any]) -> None:
    """``app delete``: what happens to the app's objects now."""
    app = clean(body["app"])
    if body["state"] == "Untracked":
        print(f"{app}: untracked; its objects are left in the clusters")
        return
    print(f"{app}: deleting its objects ({clean(body['propagation']).lower()}) from "
          f"{clean(', '.join(body['clusters']))}; fleetsync app deletions shows the progress")


def print_deletions(body: dict[str, Any]) -> None:
    """``app deletions``: one row per app."""
    rows = [[d["app"], d["project"], d["state"], ",".join(d["clusters"]), d["propagation"],
             d["since"] or "", d["message"]] for d in body["deletions"]]
    sys.stdout.write(table(["app", "project", "state", "clusters", "propagation", "since",
                            "message"], rows))


def short(revision: str | None) -> str | None:
    """A commit SHA cut to 10 characters (other revisions as they are)."""
    if revision and re.fullmatch(r"[0-9a-f]{40,64}", revision):
        return revision[:10]
    return revision


def print_apps(body: dict[str, Any], *, wide: bool = False) -> None:
    """``app list``: one row per (app, cluster); ``wide`` adds project, namespace, source."""
    rows = []
    for app in body["apps"]:
        extra = [app["project"], app["destination"]["namespace"],
                 f"{app['source']['repoURL']} {app['source']['path'] or '.'}"] if wide else []
        for t in app["targets"] or [None]:
            if t is None:
                rows.append([app["name"], None, None, None, None, "; ".join(app["errors"]),
                             *extra])
                continue
            rows.append([app["name"], t["cluster"], t["sync"], t["health"],
                         short(t["revision"]), t["operationPhase"], *extra])
    headers = ["name", "cluster", "sync", "health", "revision", "operation"]
    sys.stdout.write(table(headers + (["project", "namespace", "source"] if wide else []),
                           rows))


def rollout_line(found: dict[str, Any]) -> str:
    """A progressive rollout in one line: commit, phase, step, who has it, why it stopped."""
    line = (f"{short(found['revision'])} {found['phase']}, step {found['step']} of "
            f"{found['steps']}, on {', '.join(found['admitted']) or 'no cluster yet'}")
    if found["waitingApproval"]:
        line += "; waits for approval (fleetsync app approve)"
    elif found["pauseLeft"]:
        line += f"; paused {found['pauseLeft']:g}s more"
    if found["failed"]:
        back = ", rolled back" if found["rolledBack"] else ""
        line += f"; halted by {found['failed']}: {found['reason']}{back}"
    return line


def print_rollout(found: dict[str, Any]) -> None:
    """``app approve``: the rollout after the approval."""
    print(f"rollout: {clean(rollout_line(found))}")


def print_app(app: dict[str, Any]) -> None:
    """``app get``: settings, then per cluster its status, conditions and resources."""
    source, policy = app["source"], app["syncPolicy"]
    auto = "automated" if policy["automated"] else "manual"
    flags = [
        f
        for f, on in (
            ("prune", policy["prune"]),
            ("self-heal", policy["selfHeal"]),
            ("disabled by rollback", policy["automatedDisabledByRollback"]),
        )
        if on
    ]
    facts = [
        ("name", app["name"]),
        ("project", app["project"]),
        ("source", f"{source['repoURL']} @ {source['targetRevision']}"),
        ("path", source["path"] or "."),
        ("destination", app["destination"]["description"]),
        ("namespace", app["destination"]["namespace"]),
        ("sync policy", ", ".join([auto, *flags])),
    ]
    if app.get("rollout"):
        facts.append(("rollout", rollout_line(app["rollout"])))
    facts += [("error", e) for e in app["errors"]] + [("warning", w) for w in app["warnings"]]
    sys.stdout.write("".join(f"{k + ':':<13}{clean(v)}\n" for k, v in facts) + "\n")
    targets = app["targets"]
    sys.stdout.write(
        table(
            ["cluster", "sync", "health", "revision", "operation", "message"],
            [
                [
                    t["cluster"],
                    t["sync"],
                    t["health"],
                    short(t["revision"]),
                    (t["operation"] or {}).get("phase"),
                    (t["operation"] or {}).get("message") or t["healthMessage"],
                ]
                for t in targets
            ],
        )
    )
    conditions = [
        [t["cluster"], c["type"], c["reason"], c["message"]]
        for t in targets
        for c in t["conditions"]
    ]
    if conditions:
        sys.stdout.write("\n" + table(["cluster", "condition", "reason", "message"], conditions))
    resources = [
        [t["cluster"], r["namespace"], _kind(r), r["name"], r["sync"], r["health"], r["message"]]
        for t in targets
        for r in t["resources"]
    ]
    if resources:
        sys.stdout.write(
            "\n"
            + table(
                ["cluster", "namespace", "kind", "name", "sync", "health", "message"], resources
            )
        )


def _kind(resource: dict[str, Any]) -> str:
    return f"{resource['kind']}.{resource['group']}" if resource["group"] else resource["kind"]


def print_history(body: dict[str, Any]) -> None:
    """``app history``: one row per finished sync, newest first."""
    rows = [
        [
            h["id"],
            h["cluster"],
            short(h["revision"]),
            h["phase"],
            h["trigger"],
            h["finishedAt"],
            h["message"],
        ]
        for h in body["history"]
    ]
    sys.stdout.write(
        table(["id", "cluster", "revision", "phase", "trigger", "finished", "message"], rows)
    )


def print_queued(body: dict[str, Any]) -> None:
    """``sync``, ``refresh``, ``rollback``: the targets queued."""
    queued = [f"{k['app']}@{k['cluster']}" for k in body["queued"]]
    print(f"queued: {', '.join(queued)}" if queued else "nothing to do: no target queued")
