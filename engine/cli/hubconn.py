"""Which hub the CLI talks to, and with which token (``argocd``'s habits).

The server is ``--server``, else ``$FLEETSYNC_SERVER``, else the one ``fleetsync login``
last logged in to, else ``http://127.0.0.1:8080``. The token is ``--auth-token``, else
``$FLEETSYNC_AUTH_TOKEN``, else the one ``fleetsync login`` stored for that server in the
CLI's file: ``$FLEETSYNC_CONFIG``, else ``$XDG_CONFIG_HOME/fleetsync/cli.yaml`` (default
``~/.config``), written with mode 0600 (it holds tokens).
"""

from __future__ import annotations

import argparse
import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.errors import ConfigError


@dataclass
class CliConfig:
    """The CLI's file: the current server, and a username and token per server."""

    path: Path
    current: str = ""
    servers: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def load(cls) -> CliConfig:
        """The file (empty when missing); ``ConfigError`` when it is not the CLI's."""
        import yaml

        path = config_path()
        try:
            raw: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            return cls(path)
        except (OSError, yaml.YAMLError, UnicodeDecodeError) as err:
            raise ConfigError(f"{path}: cannot read the CLI's configuration: {err}") from None
        servers = raw.get("servers") if isinstance(raw, dict) else None
        if not isinstance(servers, dict):
            raise ConfigError(f"{path}: not a fleetsync CLI configuration (no servers:)")
        return cls(path, str(raw.get("current") or ""),
                   {str(k): dict(v) for k, v in servers.items() if isinstance(v, dict)})

    def save(self) -> None:
        """Write the file, readable by this user only."""
        import yaml

        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = yaml.safe_dump({"current": self.current, "servers": self.servers})
        scratch = self.path.with_name(f".{self.path.name}.new")
        with contextlib.suppress(FileNotFoundError):
            scratch.unlink()
        fd = os.open(scratch, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        scratch.replace(self.path)


def config_path() -> Path:
    """Where the CLI keeps servers and tokens."""
    if os.environ.get("FLEETSYNC_CONFIG"):
        return Path(os.environ["FLEETSYNC_CONFIG"])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "fleetsync" / "cli.yaml"


def add_hub_options(parser: argparse.ArgumentParser) -> None:
    """``--server``, ``--auth-token`` and ``--request-timeout`` (kubectl's name: ``--timeout``
    is how long ``app wait`` waits, as in ``argocd``)."""
    parser.add_argument("--server", help="hub URL (default $FLEETSYNC_SERVER, the server of "
                                         "the last login, or http://127.0.0.1:8080)")
    parser.add_argument("--auth-token", dest="auth_token",
                        help="token (default $FLEETSYNC_AUTH_TOKEN or the last login's)")
    parser.add_argument("--request-timeout", dest="request_timeout", type=float,
                        help="seconds to wait for each answer of the hub (default 10)")


def server_and_token(args: argparse.Namespace) -> tuple[str, str | None, float]:
    """The hub URL, token and timeout for a command with ``add_hub_options``."""
    from engine.api.protocol import DEFAULT_SERVER, DEFAULT_TIMEOUT

    config = CliConfig.load()
    server = (args.server or os.environ.get("FLEETSYNC_SERVER") or config.current
              or DEFAULT_SERVER).rstrip("/")  # fmt: skip
    token = (args.auth_token or os.environ.get("FLEETSYNC_AUTH_TOKEN")
             or config.servers.get(server, {}).get("token"))  # fmt: skip
    timeout = DEFAULT_TIMEOUT if args.request_timeout is None else args.request_timeout
    return server, token, timeout
