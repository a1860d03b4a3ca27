"""What the load tests share: local clusters, the hub as a child process, /proc readings,
the hub's HTTP API (states, counters, webhooks), the machine and the commit measured.

Everything here runs on loopback and stops what it started, on success, failure or Ctrl-C;
child processes also die with the benchmark if it is killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from engine.local import fleet, toolchain
from engine.local.fleet import die_with_parent
from tests.support.clusters import TestCluster
from tests.support.git_remotes import Upstream
from tests.support.hubkit import WEBHOOK_SECRET, HubDir

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "loadtests" / "results"
PYTHON = ROOT / ".venv" / "bin" / "python"
HUB_START_TIMEOUT = 60.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

Log = Callable[[str], None]


# ------------------------------------------------------------------ processes
def stop_process(process: subprocess.Popen[bytes], *, grace: float) -> None:
    """SIGTERM the process group of ``process``, SIGKILL it after ``grace`` seconds."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@contextlib.contextmanager
def local_clusters(directory: Path, count: int, log: Log) -> Iterator[list[TestCluster]]:
    """``count`` real local clusters in ``directory``, stopped on the way out whatever
    happens."""
    bin_dir = toolchain.ensure_binaries(log=lambda _m: None)
    try:
        up = fleet.up(directory, count, bin_dir, die_with_parent=True, log=log)
        yield [TestCluster(c.name, c.kubeconfig, c.server, c.labels) for c in up]
    finally:
        fleet.down(directory, log=log)


@dataclass
class HubProcess:
    """A ``fleetsync serve`` child: its start time, URL and /proc readings."""

    process: subprocess.Popen[bytes]
    started: float
    url: str
    log: Path
    data_dir: Path
    token: str = ""

    async def headers(self, session: aiohttp.ClientSession) -> dict[str, str]:
        """The admin's bearer header, logged in on first use with the first password the
        hub wrote to its data directory."""
        if not self.token:
            password = (self.data_dir / "initial-admin-password").read_text().strip()
            async with session.post(f"{self.url}/api/v1/session",
                                    json={"username": "admin", "password": password},
                                    timeout=aiohttp.ClientTimeout(30)) as response:
                response.raise_for_status()
                self.token = (await response.json())["token"]
        return {"Authorization": f"Bearer {self.token}"}

    def cpu(self) -> tuple[float, float]:
        """CPU seconds so far: (hub process, git and other children it has reaped)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        utime, stime, cutime, cstime = (int(f) for f in fields[11:15])
        return (utime + stime) / CLOCK_TICKS, (cutime + cstime) / CLOCK_TICKS

    def memory_mib(self) -> dict[str, float]:
        """Resident memory now (VmRSS) and at its peak (VmHWM), MiB."""
        found = {}
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                found[name] = int(value.split()[0]) / 1024
        return {"rss_mib": found["VmRSS"], "peak_rss_mib": found["VmHWM"]}

    def check_alive(self) -> None:
        """Fail with the end of the hub's log if it has exited."""
        if self.process.poll() is not None:
            tail = "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])
            raise RuntimeError(f"the hub exited ({self.process.returncode}):\n{tail}")

    def log_problems(self, samples: int = 5) -> dict[str, Any]:
        """How many WARNING/ERROR lines the hub logged, and the first few."""
        lines = [line for line in self.log.read_text(errors="replace").splitlines()
                 if " WARNING " in line or " ERROR " in line]
        return {"hub_log_warnings": len(lines), "hub_log_warning_samples": lines[:samples]}


@contextlib.contextmanager
def hub_process(directory: HubDir, runner: list[str] | None = None) -> Iterator[HubProcess]:
    """``python -m engine.cli serve`` on ``directory`` (or ``python RUNNER... serve``);
    stopped (SIGTERM, then KILL) after."""
    log = directory.root / "hub.log"
    with log.open("wb") as out:
        started = time.monotonic()
        process = subprocess.Popen(
            [str(PYTHON), *(runner or ["-m", "engine.cli"]), "serve",
             "--config", str(directory.config)],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, preexec_fn=die_with_parent,
        )
    try:
        yield HubProcess(process, started, directory.url, log, directory.root / "data")
    finally:
        stop_process(process, grace=30)


def machine_cpu() -> tuple[float, float]:
    """Busy and total jiffies of the whole machine since boot (/proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def busy_percent(before: tuple[float, float], after: tuple[float, float]) -> float:
    """How busy the whole machine was between two ``machine_cpu()`` readings, %."""
    return 100 * (after[0] - before[0]) / max(after[1] - before[1], 1)


# ------------------------------------------------------------------ waiting and the hub's API
async def wait_for(
    check: Callable[[], Awaitable[bool]], *, within: float, what: str, every: float
) -> float:
    """Poll ``check`` until true; the seconds it took. TimeoutError after ``within``."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while not await check():
        if loop.time() - started > within:
            raise TimeoutError(f"not within {within:.0f}s: {what}")
        await asyncio.sleep(every)
    return loop.time() - started


async def get_json(session: aiohttp.ClientSession, hub: HubProcess, path: str) -> Any:
    """GET ``path`` of the hub as its admin and decode its JSON (30 s timeout)."""
    async with session.get(f"{hub.url}{path}", headers=await hub.headers(session),
                           timeout=aiohttp.ClientTimeout(30)) as response:
        response.raise_for_status()
        return await response.json()


async def healthz(session: aiohttp.ClientSession, hub: HubProcess) -> bool:
    """Whether the hub answers ``/healthz`` (fails if it has exited)."""
    hub.check_alive()
    try:
        async with session.get(f"{hub.url}/healthz", timeout=aiohttp.ClientTimeout(2)) as r:
            return r.status == 200
    except aiohttp.ClientError:
        return False


async def target_states(session: aiohttp.ClientSession, hub: HubProcess) -> dict[str, int]:
    """How many targets are Synced, and Synced+Healthy, per ``GET /api/v1/apps``."""
    body = await get_json(session, hub, "/api/v1/apps")
    targets = [t for app in body["apps"] for t in app["targets"]]
    synced = [t for t in targets if t["sync"] == "Synced"]
    return {"targets": len(targets), "synced": len(synced),
            "healthy": sum(t["health"] == "Healthy" for t in synced)}


async def until_all_healthy(
    session: aiohttp.ClientSession, hub: HubProcess, pairs: int, within: float
) -> dict[str, Any]:
    """Poll ``GET /api/v1/apps`` until all ``pairs`` targets are Synced and Healthy: seconds
    from the hub's start until all were Synced and until all were also Healthy, and how
    often the API was asked (each poll waits ten times the last answer's duration, at least
    1 s, so that the polling stays a small part of the hub's work)."""
    deadline = time.monotonic() + within
    all_synced, polls, poll_seconds = None, 0, 0.0
    while True:
        hub.check_alive()
        asked = time.monotonic()
        states = await target_states(session, hub)
        took = time.monotonic() - asked
        polls, poll_seconds = polls + 1, poll_seconds + took
        elapsed = time.monotonic() - hub.started
        if all_synced is None and states["synced"] == pairs == states["targets"]:
            all_synced = elapsed
        if states["healthy"] == pairs == states["targets"]:
            return {"all_synced_s": all_synced, "all_healthy_s": elapsed,
                    "api_polls": polls, "api_poll_mean_s": poll_seconds / polls}
        if time.monotonic() > deadline:
            raise TimeoutError(f"{pairs} targets not Synced+Healthy within {within:.0f}s: "
                               f"{states}")
        await asyncio.sleep(max(1.0, 10 * took))


async def list_apps_ms(session: aiohttp.ClientSession, hub: HubProcess) -> dict[str, float]:
    """Median and max time of ``GET /api/v1/apps`` (what the dashboard polls), 5 calls."""
    times = []
    for _ in range(5):
        started = time.perf_counter()
        await get_json(session, hub, "/api/v1/apps")
        times.append(1000 * (time.perf_counter() - started))
    return {"median_ms": statistics.median(times), "max_ms": max(times)}


async def metrics_text(session: aiohttp.ClientSession, hub: HubProcess) -> str:
    """The hub's ``/metrics`` page."""
    async with session.get(f"{hub.url}/metrics", headers=await hub.headers(session),
                           timeout=aiohttp.ClientTimeout(30)) as response:
        response.raise_for_status()
        return await response.text()


async def metric_counters(session: aiohttp.ClientSession, hub: HubProcess) -> dict[str, float]:
    """The hub's ``*_total`` counters from ``/metrics``, by full series name."""
    counters = {}
    for line in (await metrics_text(session, hub)).splitlines():
        series, _, value = line.rpartition(" ")
        if series.startswith("fleetsync_") and "_total" in series:
            counters[series.removeprefix("fleetsync_")] = float(value)
    return counters


def reconcile_steps_ms(before: dict[str, float], after: dict[str, float]) -> dict[str, Any]:
    """Between two ``metric_counters`` readings: the reconciles finished, and the mean
    milliseconds each spent in every step (``fleetsync_reconcile_step_seconds_total``)."""
    def delta(prefix: str) -> dict[str, float]:
        return {series.partition('"')[2].rstrip('"}'): value - before.get(series, 0.0)
                for series, value in after.items() if series.startswith(prefix)}

    reconciles = sum(delta("reconciles_total{").values())
    steps = delta("reconcile_step_seconds_total{")
    return {"reconciles": int(reconciles),
            "mean_ms": {step: round(1000 * seconds / reconciles, 2)
                        for step, seconds in sorted(steps.items()) if reconciles and seconds}}


async def post_webhook(
    session: aiohttp.ClientSession, hub: HubProcess, upstream: Upstream
) -> None:
    """A GitHub push event for ``main`` of ``upstream``, signed with the hub's secret."""
    body = json.dumps({"ref": "refs/heads/main",
                       "repository": {"clone_url": upstream.url}}).encode()
    signature = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": f"sha256={signature}",
               "Content-Type": "application/json"}
    async with session.post(f"{hub.url}/api/webhook", data=body, headers=headers,
                            timeout=aiohttp.ClientTimeout(10)) as response:
        if response.status != 202:
            raise RuntimeError(f"webhook answered {response.status}: {await response.text()}")


# ------------------------------------------------------------------ what was measured
def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    total_kib = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"nproc": os.cpu_count(), "memory_gib": round(total_kib / 1024**2, 1),
            "cpu": cpu, "python": platform.python_version(),
            "platform": platform.platform(), "loadavg_at_start": os.getloadavg()}


def git_commit() -> str:
    """The commit measured (with ``+dirty`` when engine/ has uncommitted changes)."""
    if shutil.which("git") is None:
        return ""
    head = _git("rev-parse", "--short", "HEAD")
    return head + ("+dirty" if _git("status", "--porcelain", "engine") else "")


def engine_tree() -> str:
    """The git tree of engine/ (``+dirty`` with uncommitted changes): the same for every
    commit that leaves the hub's code alone, so runs of one code can be plotted together."""
    if shutil.which("git") is None:
        return ""
    tree = _git("rev-parse", "--short", "HEAD:engine")
    return tree + ("+dirty" if _git("status", "--porcelain", "engine") else "")


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                          check=False)
    return done.stdout.strip()
