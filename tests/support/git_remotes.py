"""Real Git remotes for the source tests: repositories to change, a smart HTTP server."""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from engine.local.fleet import die_with_parent

HTTP_USER = "robot"
HTTP_TOKEN = "tok-7f3a9c1e5b2d4068"  # a recognisable fake secret that must never leak


def git_env(home: Path) -> dict[str, str]:
    """Environment for the test's own git commands (author, isolated config)."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(home),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
        "GIT_ALLOW_PROTOCOL": "file:git",
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Daemon:
    base: Path
    port: int


@dataclass
class Upstream:
    """A bare repository served by the daemon, and a working clone to change it from."""

    name: str
    bare: Path
    work: Path
    port: int
    env: dict[str, str]

    @property
    def url(self) -> str:
        return f"git://127.0.0.1:{self.port}/{self.name}.git"

    @property
    def file_url(self) -> str:
        return self.bare.as_uri()

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=self.work, env=self.env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    def commit(self, files: dict[str, str | None], message: str = "change") -> str:
        """Write (or, for None, delete) files, commit them, and return the new SHA."""
        for path, text in files.items():
            target = self.work / path
            if text is None:
                target.unlink()
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        self.git("add", "-A")
        self.git("commit", "--quiet", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def push(self, *refspecs: str, force: bool = False) -> None:
        self.git("push", "--quiet", *(["--force"] if force else []), str(self.bare), *refspecs)


def run(argv: list[str], env: dict[str, str]) -> None:
    """Run a command of the test's own, failing the test if it fails."""
    subprocess.run(argv, env=env, check=True, capture_output=True)


def wait_for_port(port: int, *, deadline: float = 10.0) -> None:
    stop = time.monotonic() + deadline
    while time.monotonic() < stop:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


@dataclass(frozen=True)
class HttpGit:
    port: int

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}.git"


class BackendHandler(BaseHTTPRequestHandler):
    base: Path
    expected = "Basic " + base64.b64encode(f"{HTTP_USER}:{HTTP_TOKEN}".encode()).decode()

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _serve(self) -> None:
        if self.headers.get("Authorization") != self.expected:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path, _, query = self.path.partition("?")
        env = {
            **git_env(self.base),
            "GIT_PROJECT_ROOT": str(self.base),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": self.command,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "REMOTE_USER": HTTP_USER,
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
            "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
        }
        body = self._body()
        done = subprocess.run(["git", "http-backend"], input=body, env=env, capture_output=True)
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(": ")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        self.rfile.readline()
        return b"".join(chunks)


@contextlib.contextmanager
def serve_http(base: Path) -> Iterator[HttpGit]:
    """Smart HTTP (git http-backend) over the repositories under ``base``, behind Basic auth
    (``HTTP_USER``/``HTTP_TOKEN``), on a loopback port."""
    handler = type("Handler", (BackendHandler,), {"base": base})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HttpGit(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def serve_git(base: Path) -> Iterator[Daemon]:
    """``git daemon`` on loopback serving (and accepting pushes to) every repo under ``base``;
    it also dies with this process, however that ends."""
    port = free_port()
    process = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", f"--base-path={base}", "--export-all",
         "--enable=receive-pack", "--listen=127.0.0.1", f"--port={port}", str(base)],
        env=git_env(base), start_new_session=True, preexec_fn=die_with_parent,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port)
        yield Daemon(base, port)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def new_upstream(
    daemon: Daemon, tmp: Path, name: str, files: dict[str, str | None]
) -> Upstream:
    """A bare repository ``name`` served by ``daemon`` with ``files`` committed on ``main``,
    and a working clone under ``tmp`` to change it from."""
    env = git_env(tmp)
    bare = daemon.base / f"{name}.git"
    run(["git", "init", "--quiet", "--bare", "-b", "main", str(bare)], env)
    work = tmp / f"{name}-work"
    run(["git", "init", "--quiet", "-b", "main", str(work)], env)
    upstream = Upstream(name, bare, work, daemon.port, env)
    upstream.commit(files, "initial")
    upstream.push("main")
    return upstream
