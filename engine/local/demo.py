"""The demo scenario on this machine: local clusters, a Git repo on loopback, the hub.

``prepare`` makes, under one directory: two local clusters (``clusters/``, via ``fleet``),
a bare Git repository holding the demo's ``repo/`` content served by ``git daemon`` on a
loopback port (``git/``, a working clone in ``work/`` to change it from), and a hub
directory (``hub/``) with ``clusters.yaml`` (``local-1`` answers to
``https://kubernetes.default.svc``), the demo's AppProject and Applications exactly as
written for Argo CD but for ``repoURL``, and ``fleetsync.yaml``. The demo files are read
from the repository's ``examples/argocd-kustomize-demo`` unless another
directory is given.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from engine.errors import LocalClusterError
from engine.local import fleet

DEMO_REPO_URL = "https://git.example.com/platform/fleetsync-demo.git"
GIT_PID_FILE = "git-daemon.pid"
HUB_PORT = 8080
Log = fleet.Log


@dataclass(frozen=True)
class Demo:
    """Where the prepared demo lives."""

    directory: Path
    config: Path
    repo_url: str
    work: Path
    clusters: list[fleet.LocalCluster]


def default_example() -> Path:
    """The demo scenario files shipped beside the checkout."""
    return Path(__file__).resolve().parents[2] / "examples" / "argocd-kustomize-demo"


def prepare(directory: Path, example: Path, bin_dir: Path, *, port: int = HUB_PORT,
            log: Log = print) -> Demo:
    """Bring up clusters and the Git repo (reusing running ones) and write the hub config."""
    if not (example / "repo").is_dir() or not (example / "apps").is_dir():
        raise LocalClusterError(f"{example}: no demo scenario (repo/ and apps/) there")
    clusters = fleet.up(directory / "clusters", 2, bin_dir, log=log)
    repo_url, work = _git_repo(directory, example, log)
    hub = directory / "hub"
    (hub / "apps").mkdir(parents=True, exist_ok=True)
    for app in sorted((example / "apps").glob("*.yaml")):
        text = app.read_text().replace(DEMO_REPO_URL, repo_url)
        (hub / "apps" / app.name).write_text(text)
    _write_clusters(hub / "clusters.yaml", clusters)
    config = {
        "clusters": "clusters.yaml",
        "dataDir": "data",
        "apps": ["apps/"],
        "server": {"listen": f"127.0.0.1:{port}"},
        "git": {"pollInterval": "30s"},
    }
    (hub / "fleetsync.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    return Demo(directory, hub / "fleetsync.yaml", repo_url, work, clusters)


def stop_git(directory: Path) -> None:
    """Stop the demo's git daemon, if it runs."""
    pid_file = directory / GIT_PID_FILE
    if not pid_file.exists():
        return
    pid = pid_file.read_text().partition("\n")[0]
    with contextlib.suppress(ProcessLookupError, ValueError):
        os.killpg(int(pid), signal.SIGTERM)
    pid_file.unlink()


def _write_clusters(path: Path, clusters: list[fleet.LocalCluster]) -> None:
    doc = fleet.registration_document(clusters, path.parent)
    doc["clusters"][0]["labels"]["fleetsync.io/default"] = "true"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _git_repo(directory: Path, example: Path, log: Log) -> tuple[str, Path]:
    base, work = directory / "git", directory / "work"
    bare = base / "argocd-kustomize-demo.git"
    if not bare.exists():
        _git("init", "--quiet", "--bare", "-b", "main", str(bare))
        shutil.copytree(example / "repo", work, dirs_exist_ok=True)
        _git("init", "--quiet", "-b", "main", cwd=work)
        _git("add", "-A", cwd=work)
        _git("commit", "--quiet", "-m", "demo scenario", cwd=work)
        _git("remote", "add", "origin", str(bare), cwd=work)
        _git("push", "--quiet", "origin", "main", cwd=work)
    port = _running_daemon(directory) or _start_daemon(directory, base)
    url = f"git://127.0.0.1:{port}/argocd-kustomize-demo.git"
    log(f"demo Git repository: {url} (change it from {work})")
    return url, work


def _running_daemon(directory: Path) -> int | None:
    pid_file = directory / GIT_PID_FILE
    if not pid_file.exists():
        return None
    pid_text, _, port = pid_file.read_text().partition("\n")
    try:
        os.kill(int(pid_text), 0)
    except (ProcessLookupError, ValueError):
        return None
    return int(port) if port else None


def _start_daemon(directory: Path, base: Path) -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    log_file = (directory / "git-daemon.log").open("ab")
    process = subprocess.Popen(
        ["git", "daemon", "--reuseaddr", f"--base-path={base}", "--export-all",
         "--enable=receive-pack", "--listen=127.0.0.1", f"--port={port}", str(base)],
        stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    (directory / GIT_PID_FILE).write_text(f"{process.pid}\n{port}")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return port
        time.sleep(0.05)
    raise LocalClusterError(f"git daemon did not listen on 127.0.0.1:{port}")


def _git(*args: str, cwd: Path | None = None) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "fleetsync demo",
           "GIT_AUTHOR_EMAIL": "demo@fleetsync.invalid", "GIT_COMMITTER_NAME": "fleetsync demo",
           "GIT_COMMITTER_EMAIL": "demo@fleetsync.invalid"}
    done = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise LocalClusterError(f"git {' '.join(args)}: {done.stderr.strip()}")
