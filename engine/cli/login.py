"""``fleetsync login``, ``logout`` and ``account``: sessions and accounts of a hub.

``login [SERVER]`` asks for the username and password (``--username``, and the password
from ``--password-stdin`` or a prompt that does not echo), stores the token for that
server in the CLI's file (``engine.cli.hubconn``) and makes it the current server.
``logout`` ends that session on the hub and forgets the token. ``account`` lists the
accounts the caller may see, changes a password (its own, or another's when allowed),
and makes, lists and revokes API tokens of automation accounts.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any
from urllib.parse import quote

from engine.cli import add_command
from engine.cli.hubconn import CliConfig, add_hub_options, server_and_token
from engine.errors import ConfigError


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``login``, ``logout`` and the ``account`` group."""
    login = add_command(sub, "login")
    login.add_argument("server_url", nargs="?", metavar="SERVER",
                       help="hub URL (default as for every command)")
    login.add_argument("--username", help="account (default: asked)")
    login.add_argument("--password-stdin", dest="password_stdin", action="store_true",
                       help="read the password from standard input")
    add_hub_options(login)
    login.set_defaults(handler=_login)
    logout = add_command(sub, "logout")
    add_hub_options(logout)
    logout.set_defaults(handler=_logout)

    account = add_command(sub, "account")
    commands = account.add_subparsers(dest="account_command", required=True,
                                      metavar="COMMAND")
    _sub(commands, "list", "accounts you may see")
    password = _sub(commands, "update-password", "change a password")
    password.add_argument("--account", help="whose (default: yours; another's needs "
                                            "accounts, update)")
    password.add_argument("--password-stdin", dest="password_stdin", action="store_true",
                          help="read current and new password from standard input, a line "
                               "each (only the new one for another account)")
    tokens = _sub(commands, "tokens", "an automation account's API tokens")
    tokens.add_argument("--account", required=True)
    generate = _sub(commands, "generate-token", "a new API token (printed once)")
    generate.add_argument("--account", required=True)
    generate.add_argument("--expires-in", dest="expires_in", type=int,
                          help="seconds (default 90 days)")
    generate.add_argument("--description", default="")
    delete = _sub(commands, "delete-token", "revoke an API token")
    delete.add_argument("--account", required=True)
    delete.add_argument("id")


def _sub(commands: argparse._SubParsersAction[argparse.ArgumentParser], name: str,
         summary: str) -> argparse.ArgumentParser:  # fmt: skip
    parser = commands.add_parser(name, help=summary, description=summary)
    add_hub_options(parser)
    parser.set_defaults(handler=_account)
    return parser


def _login(args: argparse.Namespace) -> int:
    import asyncio

    if args.server_url:
        args.server = args.server_url
    server, _, timeout = server_and_token(args)
    username = args.username or input("Username: ").strip()
    password = _read_secret(args.password_stdin, "Password: ")
    answer = asyncio.run(_call(server, None, timeout, "POST", "/session",
                               {"username": username, "password": password}))
    config = CliConfig.load()
    config.servers[server] = {"username": username, "token": str(answer["token"])}
    config.current = server
    config.save()
    print(f"logged in to {server} as {username}")
    return 0


def _logout(args: argparse.Namespace) -> int:
    import asyncio

    server, token, timeout = server_and_token(args)
    if token:
        asyncio.run(_call(server, token, timeout, "DELETE", "/session"))
    config = CliConfig.load()
    if config.servers.pop(server, None) is not None:
        config.save()
    print(f"logged out of {server}")
    return 0


def _account(args: argparse.Namespace) -> int:
    import asyncio

    import orjson

    server, token, timeout = server_and_token(args)
    command = args.account_command
    if command == "list":
        body = asyncio.run(_call(server, token, timeout, "GET", "/accounts"))
        for account in body["accounts"]:
            print(f"{account['name']}\t{', '.join(account['capabilities'])}")
        return 0
    if command == "update-password":
        name = args.account or asyncio.run(_call(server, token, timeout, "GET",
                                                 "/session"))["username"]
        own = args.account is None
        current = _read_secret(args.password_stdin, "Current password: ") if own else None
        new = _read_secret(args.password_stdin, "New password: ")
        if not args.password_stdin and new != _read_secret(False, "Repeat new password: "):
            raise ConfigError("the new passwords differ")
        change = {"new": new, **({"current": current} if current is not None else {})}
        asyncio.run(_call(server, token, timeout, "PUT",
                          f"/accounts/{quote(name, safe='')}/password", change))
        print(f"password of {name} updated" + ("; log in again" if own else ""))
        return 0
    path = f"/accounts/{quote(args.account, safe='')}/tokens"
    if command == "tokens":
        body = asyncio.run(_call(server, token, timeout, "GET", path))
    elif command == "generate-token":
        request: dict[str, Any] = {"description": args.description}
        if args.expires_in is not None:
            request["expiresIn"] = args.expires_in
        body = asyncio.run(_call(server, token, timeout, "POST", path, request))
        print(body["token"])
        return 0
    else:
        body = asyncio.run(_call(server, token, timeout, "DELETE",
                                 f"{path}/{quote(args.id, safe='')}"))
    sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


async def _call(server: str, token: str | None, seconds: float, method: str, path: str,
                body: dict[str, Any] | None = None) -> Any:  # fmt: skip
    from engine.api.client import HubClient

    async with HubClient(server, token=token, timeout=seconds) as hub:
        if method == "GET":
            return await hub.get(path)
        if method == "POST":
            return await hub.post(path, body)
        if method == "PUT":
            return await hub.put(path, body or {})
        return await hub.delete(path)


def _read_secret(from_stdin: bool, prompt: str) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return getpass.getpass(prompt)
