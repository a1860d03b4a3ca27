"""A directory of local clusters: ``fleetsync local up | down | status``.

``up`` starts one etcd and, per cluster, an API server, controller manager, scheduler and
kwok, all on loopback ports, then writes ``DIR/<name>.kubeconfig`` and ``DIR/clusters.yaml``.
Every process it starts is recorded in ``DIR/state.json`` before it is waited on, so
``down`` stops exactly those processes, even after a failed ``up``. A second ``up`` on a
running directory starts nothing; on a half-running one it is an error asking for ``down``.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from engine.config.clusters import REGISTRATION_FILE
from engine.errors import LocalClusterError
from engine.local import controlplane as cp
from engine.local.kubeconfig import write_kubeconfig
from engine.local.pki import ClusterPki, write_cluster_pki

STATE_FILE = "state.json"
ENVS = ("dev", "prod", "staging")
REGIONS = ("local-east", "local-west")
START_TIMEOUT = 120.0
STOP_TIMEOUT = 15.0

Log = Callable[[str], None]


@dataclass(frozen=True)
class LocalCluster:
    """A running local cluster as users and tests see it."""

    name: str
    server: str
    kubeconfig: Path
    labels: dict[str, str]


@dataclass
class _Proc:
    component: str
    cluster: str | None
    pid: int
    exe: str
    log: str

    def alive(self) -> bool:
        return _pid_runs(self.pid, self.exe)


@dataclass
class _State:
    directory: Path
    processes: list[_Proc] = field(default_factory=list)
    clusters: list[LocalCluster] = field(default_factory=list)

    @classmethod
    def load(cls, directory: Path) -> _State | None:
        path = directory / STATE_FILE
        if not path.exists():
            return None
        raw = json.loads(path.read_text())
        return cls(
            directory=directory,
            processes=[_Proc(**p) for p in raw["processes"]],
            clusters=[
                LocalCluster(c["name"], c["server"], Path(c["kubeconfig"]), c["labels"])
                for c in raw["clusters"]
            ],
        )

    def save(self) -> None:
        raw = {
            "processes": [vars(p) for p in self.processes],
            "clusters": [
                {
                    "name": c.name,
                    "server": c.server,
                    "kubeconfig": str(c.kubeconfig),
                    "labels": c.labels,
                }
                for c in self.clusters
            ],
        }
        tmp = self.directory / (STATE_FILE + ".tmp")
        tmp.write_text(json.dumps(raw, indent=2))
        tmp.replace(self.directory / STATE_FILE)


def _pid_runs(pid: int, exe: str) -> bool:
    """True when ``pid`` is a live (not zombie) process running ``exe``."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, UnicodeDecodeError):
        return False
    state = stat.rsplit(")", 1)[1].split()[0]
    return cmdline == exe and state not in ("Z", "X")


def die_with_parent() -> None:
    """Ask Linux to SIGTERM this child when the process that started it dies."""
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


class _PortPicker:
    """Hands out distinct free loopback ports."""

    def __init__(self) -> None:
        self._given: set[int] = set()

    def __call__(self) -> int:
        while True:
            with socket.socket() as sock:
                sock.bind(("127.0.0.1", 0))
                port = int(sock.getsockname()[1])
            if port not in self._given:
                self._given.add(port)
                return port


def _log_tail(path: str | Path, lines: int = 25) -> str:
    try:
        text = Path(path).read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(text[-lines:])


class _Starter:
    """Starts processes, records each in the state file at once, and checks they still run."""

    def __init__(self, state: _State, *, die_with_parent: bool) -> None:
        self._state = state
        self._die_with_parent = die_with_parent
        self._logs = state.directory / "logs"
        self._logs.mkdir(parents=True, exist_ok=True)
        self._children: dict[int, subprocess.Popen[bytes]] = {}

    def start(self, component: str, cluster: str | None, argv: list[str]) -> _Proc:
        name = f"{cluster}-{component}" if cluster else component
        log_path = self._logs / f"{name}.log"
        with log_path.open("ab") as log_file:
            child = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent if self._die_with_parent else None,
            )
        self._children[child.pid] = child
        proc = _Proc(component, cluster, child.pid, argv[0], str(log_path))
        self._state.processes.append(proc)
        self._state.save()
        return proc

    def check(self, proc: _Proc) -> None:
        """Raise with the end of its log if ``proc`` has exited."""
        child = self._children.get(proc.pid)
        if child is not None and child.poll() is not None:
            where = f"{proc.cluster}: " if proc.cluster else ""
            raise LocalClusterError(
                f"{where}{proc.component} exited with code {child.returncode}; "
                f"last lines of {proc.log}:\n{_log_tail(proc.log)}"
            )


def _wait(starter: _Starter, procs: list[_Proc], check: Callable[[], bool], what: str) -> None:
    def step() -> bool:
        for proc in procs:
            starter.check(proc)
        return check()

    try:
        cp.wait_until(step, timeout=START_TIMEOUT, what=what)
    except LocalClusterError as err:
        if "timed out" in str(err) and procs:
            raise LocalClusterError(
                f"{err}; last lines of {procs[0].log}:\n{_log_tail(procs[0].log)}"
            ) from None
        raise


def _specs(directory: Path, count: int, ports: _PortPicker) -> list[cp.LocalClusterSpec]:
    specs = []
    for i in range(count):
        name = f"local-{i + 1}"
        labels = {"env": ENVS[i % len(ENVS)], "region": REGIONS[i % len(REGIONS)]}
        specs.append(
            cp.LocalClusterSpec(
                name=name,
                index=i,
                directory=directory / name,
                apiserver_port=ports(),
                kwok_port=ports(),
                labels=labels,
                kubeconfig=directory / f"{name}.kubeconfig",
            )
        )
    return specs


def up(
    directory: Path,
    count: int,
    bin_dir: Path,
    *,
    die_with_parent: bool = False,
    log: Log = print,
) -> list[LocalCluster]:
    """Start ``count`` clusters in ``directory`` and wait until each has a Ready node."""
    directory.mkdir(parents=True, exist_ok=True)
    existing = _State.load(directory)
    if existing is not None:
        return _already_up(existing, count)
    state = _State(directory)
    state.save()
    started = time.monotonic()
    try:
        clusters = _bring_up(state, count, bin_dir, die_with_parent=die_with_parent, log=log)
    except BaseException:
        down(directory, log=lambda _m: None)
        raise
    log(f"{count} cluster(s) ready in {time.monotonic() - started:.1f}s")
    return clusters


def _already_up(state: _State, count: int) -> list[LocalCluster]:
    if state.processes and all(p.alive() for p in state.processes):
        if len(state.clusters) != count:
            raise LocalClusterError(
                f"{state.directory} already runs {len(state.clusters)} cluster(s), not {count}; "
                "run `fleetsync local down` first"
            )
        return state.clusters
    raise LocalClusterError(
        f"{state.directory} holds clusters that are not all running; "
        f"run `fleetsync local down --dir {state.directory}` first"
    )


def _bring_up(
    state: _State, count: int, bin_dir: Path, *, die_with_parent: bool, log: Log
) -> list[LocalCluster]:
    ports = _PortPicker()
    starter = _Starter(state, die_with_parent=die_with_parent)
    etcd_url = _start_etcd(starter, ports, state.directory, bin_dir, log)
    specs = _specs(state.directory, count, ports)
    pkis = {s.name: write_cluster_pki(s.name, s.directory / "pki") for s in specs}
    clients = {s.name: cp.AdminHttp(s, pkis[s.name]) for s in specs}
    apiservers = {
        s.name: _start_apiserver(starter, s, pkis[s.name], bin_dir, etcd_url) for s in specs
    }
    for spec in specs:
        ready = partial(cp.apiserver_ready, clients[spec.name])
        _wait(starter, [apiservers[spec.name]], ready, f"{spec.name}: kube-apiserver /readyz")
        log(f"{spec.name}: kube-apiserver ready at {spec.server}")
    components = {
        s.name: [apiservers[s.name], *_start_components(starter, s, pkis[s.name], bin_dir)]
        for s in specs
    }
    for spec in specs:
        cp.ensure_node(clients[spec.name], spec)
    for spec in specs:
        ready = partial(cp.node_schedulable, clients[spec.name], spec)
        what = f"{spec.name}: node {spec.node_name} Ready and the default ServiceAccount"
        _wait(starter, components[spec.name], ready, what)
        log(f"{spec.name}: node {spec.node_name} Ready")

    state.clusters = [LocalCluster(s.name, s.server, s.kubeconfig, s.labels) for s in specs]
    state.save()
    write_registration(state.directory / REGISTRATION_FILE, state.clusters)
    return state.clusters


def _start_etcd(
    starter: _Starter, ports: _PortPicker, directory: Path, bin_dir: Path, log: Log
) -> str:
    client_port, peer_port = ports(), ports()
    url = f"http://127.0.0.1:{client_port}"
    shutil.rmtree(directory / "etcd", ignore_errors=True)
    argv = cp.etcd_command(bin_dir, directory / "etcd", client_port, peer_port)
    etcd = starter.start("etcd", None, argv)
    _wait(starter, [etcd], partial(cp.http_ok, f"{url}/health"), "etcd /health")
    log(f"etcd ready at {url}")
    return url


def _start_apiserver(
    starter: _Starter, spec: cp.LocalClusterSpec, pki: ClusterPki, bin_dir: Path, etcd_url: str
) -> _Proc:
    write_kubeconfig(spec.kubeconfig, spec.name, spec.server, pki)
    argv = cp.apiserver_command(bin_dir, spec, pki, etcd_url)
    return starter.start("kube-apiserver", spec.name, argv)


def _start_components(
    starter: _Starter, spec: cp.LocalClusterSpec, pki: ClusterPki, bin_dir: Path
) -> list[_Proc]:
    return [
        starter.start(
            "kube-controller-manager", spec.name, cp.controller_manager_command(bin_dir, spec, pki)
        ),
        starter.start("kube-scheduler", spec.name, cp.scheduler_command(bin_dir, spec)),
        starter.start("kwok", spec.name, cp.kwok_command(bin_dir, spec)),
    ]


def registration_document(clusters: list[LocalCluster], base: Path) -> dict[str, Any]:
    """The ``clusters.yaml`` content naming each cluster's kubeconfig relative to ``base``."""
    return {
        "clusters": [
            {
                "name": c.name,
                "labels": dict(c.labels),
                "kubeconfig": os.path.relpath(c.kubeconfig, base),
                "context": c.name,
            }
            for c in clusters
        ]
    }


def write_registration(path: Path, clusters: list[LocalCluster]) -> None:
    """Write ``clusters.yaml`` for ``clusters`` next to their kubeconfigs."""
    doc = registration_document(clusters, path.parent)
    header = "# Written by `fleetsync local up`: the local clusters, in clusters.yaml format.\n"
    path.write_text(header + yaml.safe_dump(doc, sort_keys=False))


def down(directory: Path, *, log: Log = print) -> int:
    """Stop every process ``up`` started in ``directory``; return how many were running."""
    state = _State.load(directory)
    if state is None:
        log(f"nothing runs in {directory}")
        return 0
    running = [p for p in reversed(state.processes) if p.alive()]
    for proc in running:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
    _reap(running)
    shutil.rmtree(directory / "etcd", ignore_errors=True)
    (directory / STATE_FILE).unlink(missing_ok=True)
    log(f"stopped {len(running)} process(es) in {directory}")
    return len(running)


def _reap(procs: list[_Proc]) -> None:
    deadline = time.monotonic() + STOP_TIMEOUT
    while any(p.alive() for p in procs) and time.monotonic() < deadline:
        _collect_zombies()
        time.sleep(0.1)
    for proc in procs:
        if proc.alive():
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
    while any(p.alive() for p in procs):
        _collect_zombies()
        time.sleep(0.05)
    _collect_zombies()


def _collect_zombies() -> None:
    """Reap exited children of this process, if it started them."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0] != 0:
            pass


@dataclass(frozen=True)
class ClusterStatus:
    """One line of ``fleetsync local status``."""

    cluster: LocalCluster
    processes: dict[str, bool]

    @property
    def running(self) -> bool:
        return bool(self.processes) and all(self.processes.values())


def status(directory: Path) -> list[ClusterStatus]:
    """The clusters recorded in ``directory`` and whether each of their processes runs."""
    state = _State.load(directory)
    if state is None:
        return []
    etcd_alive = all(p.alive() for p in state.processes if p.cluster is None)
    result = []
    for cluster in state.clusters:
        procs = {p.component: p.alive() for p in state.processes if p.cluster == cluster.name}
        procs["etcd"] = etcd_alive
        result.append(ClusterStatus(cluster, procs))
    return result
