"""A real PostgreSQL server for tests: Debian's binaries, a data directory under a temporary
directory, listening on 127.0.0.1 only, trusting loopback connections (nothing else can
reach it); stopped at the end. As root (CI), the server runs as the ``postgres`` user that
Debian's package creates, because PostgreSQL refuses to run as root."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg

from tests.support.git_remotes import free_port

USER = "fleetsync"


def find_bin() -> Path | None:
    """The directory of ``initdb`` and ``pg_ctl``: on the PATH, or Debian's newest."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parent.parent.name))  # fmt: skip
    return versions[-1].parent if versions else None


@dataclass(frozen=True)
class PgServer:
    """A running server: where it listens and who may connect."""

    host: str
    port: int

    def dsn(self, database: str = "postgres") -> str:
        """A libpq connection string to ``database``."""
        return f"host={self.host} port={self.port} user={USER} dbname={database}"

    def new_database(self) -> str:
        """A fresh, empty database; its connection string."""
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.dsn(name)


@contextlib.contextmanager
def postgres_server(base: Path) -> Iterator[PgServer]:
    """Initialise and start a server under ``base``; stop it on exit."""
    bin_dir = find_bin()
    if bin_dir is None:
        raise RuntimeError("no PostgreSQL server binaries (apt-get install postgresql)")
    run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    base.mkdir(parents=True, exist_ok=True)
    if run_as:
        shutil.chown(base, "postgres", "postgres")
    data, port = base / "data", free_port()
    subprocess.run([*run_as, str(bin_dir / "initdb"), "-D", str(data), "-U", USER,
                    "--auth=trust", "--no-sync", "-E", "UTF8"], check=True,
                   capture_output=True, timeout=120)  # fmt: skip
    options = f"-h 127.0.0.1 -p {port} -k {base} -F -c max_connections=200"
    subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-l",
                    str(base / "server.log"), "-w", "-t", "60", "-o", options, "start"],
                   check=True, capture_output=True, timeout=90)  # fmt: skip
    try:
        yield PgServer("127.0.0.1", port)
    finally:
        subprocess.run([*run_as, str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate",
                        "-w", "stop"], capture_output=True, timeout=60)  # fmt: skip
