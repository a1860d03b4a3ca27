"""Hub benchmark: scale and latency of ``fleetsync serve`` against real local clusters.

For each fleet size N (``--apps 50 200``) this brings up two real local clusters
(``engine.local.fleet``), a ``git daemon`` on 127.0.0.1 serving one repository with N app
directories (``apps/app-NNN``: a kustomization with one ConfigMap and one Deployment of
one replica), N Argo CD ``Application`` files (automated prune + selfHeal,
``CreateNamespace=true``, ``timeout.reconcile=30s``, namespace ``app-NNN``, alternating
``local-1``/``local-2`` by destination name), and runs the hub as a subprocess
(``python -m engine.cli serve``) so that its own CPU time and memory can be read from
``/proc/<pid>``. Then, against that hub:

1. **initial sync**: wall time from starting the hub until ``GET /api/v1/apps`` shows all
   N targets Synced and Healthy (polled every second), and the hub's CPU seconds in that
   time (user + system of the hub process; git children it reaped are reported apart)
   → apps synced per CPU-second.
2. **steady state**: first the hub's CPU until the first resync round after start is
   over (each target compares once more by server-side dry run, because its first sync
   ran before a watch could vouch for it), reported apart; then the hub's CPU over a 60 s
   window in which nothing changes (every target is resynced about twice by its 30 s
   interval, the repository is polled twice) → CPU % per 100 apps; the reconciles the hub
   counted (``/metrics``), how many managed objects changed resourceVersion in the
   clusters in that window (should be 0: a no-op resync must not write), how busy the
   whole machine was; peak RSS (VmHWM); and the time of ``GET /api/v1/apps``.
3. **commit → cluster**: push a new value into ONE app's ConfigMap, POST a signed GitHub
   push webhook, and time (from the end of ``git push``) until the value is live in the
   cluster (read every 50 ms with kubernetes_asyncio). 5 times, on different apps.
4. **drift → healed**: delete one app's Deployment and time until a new one exists; and
   overwrite a ConfigMap value with another field manager and time until fleetsync's
   value is back. 5 times each.

Figures are printed as a table and written to ``loadtests/results/hub_bench-<UTC>.json``
with the machine (nproc, memory, Python). Everything runs on loopback; every wait is
bounded; clusters, git daemon and hub are stopped on success, failure, Ctrl-C or SIGTERM
(and die with this process if it is killed). A run with the defaults takes ~4.5 min on a
2-core machine.

Usage: python loadtests/hub_bench.py [--apps N [N ...]] [--window SECONDS] [--repeats K]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import yaml  # noqa: E402
from kubernetes_asyncio import client  # noqa: E402
from kubernetes_asyncio.client.exceptions import ApiException  # noqa: E402

from loadtests import common  # noqa: E402
from loadtests.common import (  # noqa: E402
    HUB_START_TIMEOUT,
    RESULTS,
    HubProcess,
    busy_percent,
    healthz,
    hub_process,
    list_apps_ms,
    machine,
    machine_cpu,
    metric_counters,
    post_webhook,
    until_all_healthy,
    wait_for,
)
from tests.support.clusters import TestCluster  # noqa: E402
from tests.support.git_remotes import (  # noqa: E402
    Daemon,
    Upstream,
    new_upstream,
    serve_git,
)
from tests.support.hubkit import (  # noqa: E402
    application_yaml,
    configmap_yaml,
    hub_dir,
)

CLUSTERS = 2
RECONCILE_INTERVAL = "30s"
POLL_EVERY = 0.05
LATENCY_TIMEOUT = 45.0  # above the 30 s poll interval: a lost webhook still shows up
RESYNC_ROUND = 33.0  # 30 s interval (up to 10% sooner) + slack: the first resync round
INTRUDER = "hub-bench-intruder"
MANAGED = "app.kubernetes.io/managed-by=fleetsync"


# ------------------------------------------------------------------ processes
@contextlib.contextmanager
def local_clusters(directory: Path) -> Iterator[list[TestCluster]]:
    """Two real local clusters, stopped on the way out whatever happens."""
    with common.local_clusters(directory, CLUSTERS, _say) as clusters:
        yield clusters


def _say(message: str) -> None:
    print(f"[hub-bench] {message}", flush=True)


# ------------------------------------------------------------------ the fleet
def app_name(index: int) -> str:
    """App ``index``'s name, which is also its namespace and its directory."""
    return f"app-{index:03d}"


def cluster_of(index: int) -> str:
    """The cluster app ``index`` goes to: local-1, local-2, local-1, ..."""
    return f"local-{index % CLUSTERS + 1}"


def deployment_yaml(name: str) -> str:
    """A Deployment of one replica reading the app's ConfigMap."""
    labels = {"app": name}
    return yaml.safe_dump({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                     "envFrom": [{"configMapRef": {"name": "settings"}}]}]},
        }},
    })  # fmt: skip


def app_files(index: int, version: str) -> dict[str, str]:
    """The files of app ``index``'s directory, its ConfigMap holding ``version``."""
    base = f"apps/{app_name(index)}"
    return {
        f"{base}/kustomization.yaml": "resources: [configmap.yaml, deployment.yaml]\n",
        f"{base}/configmap.yaml": configmap_yaml("settings", {"app": app_name(index),
                                                              "version": version}),
        f"{base}/deployment.yaml": deployment_yaml(app_name(index)),
    }


def repo_files(count: int) -> dict[str, str]:
    """The whole repository: ``count`` app directories."""
    files: dict[str, str] = {"README.md": "hub benchmark fleet\n"}
    for index in range(count):
        files.update(app_files(index, "v0"))
    return files


def application_files(count: int, repo_url: str) -> dict[str, str]:
    """One Argo CD Application file per app."""
    policy = {"automated": {"prune": True, "selfHeal": True},
              "syncOptions": ["CreateNamespace=true", f"timeout.reconcile={RECONCILE_INTERVAL}"]}
    return {
        f"{app_name(i)}.yaml": application_yaml(
            app_name(i), repo_url, f"apps/{app_name(i)}", app_name(i),
            cluster=cluster_of(i), extra_spec={"syncPolicy": policy})
        for i in range(count)
    }  # fmt: skip


# ------------------------------------------------------------------ waiting and reading
async def resource_versions(apis: dict[str, client.ApiClient]) -> dict[str, str]:
    """resourceVersion of every ConfigMap and Deployment fleetsync manages, by uid."""
    found: dict[str, str] = {}
    for api in apis.values():
        cms = await client.CoreV1Api(api).list_config_map_for_all_namespaces(
            label_selector=MANAGED)
        deps = await client.AppsV1Api(api).list_deployment_for_all_namespaces(
            label_selector=MANAGED)
        for item in [*cms.items, *deps.items]:
            found[item.metadata.uid] = item.metadata.resource_version
    return found


async def read_configmap(api: client.ApiClient, namespace: str) -> dict[str, str] | None:
    """The data of ConfigMap ``settings`` in ``namespace``, None when absent."""
    try:
        found = await client.CoreV1Api(api).read_namespaced_config_map("settings", namespace)
    except ApiException as err:
        if err.status == 404:
            return None
        raise
    return dict(found.data or {})


async def deployment_uid(api: client.ApiClient, namespace: str) -> str | None:
    """The uid of Deployment ``web`` in ``namespace``, None when absent."""
    try:
        found = await client.AppsV1Api(api).read_namespaced_deployment("web", namespace)
    except ApiException as err:
        if err.status == 404:
            return None
        raise
    return str(found.metadata.uid)


def summary(seconds: list[float]) -> dict[str, Any]:
    """Median and max of a list of latencies, and the list itself."""
    return {"median_s": statistics.median(seconds), "max_s": max(seconds),
            "samples_s": [round(s, 4) for s in seconds]}


# ------------------------------------------------------------------ the phases
async def initial_sync(
    session: aiohttp.ClientSession, hub: HubProcess, count: int
) -> dict[str, Any]:
    """Phase 1: from hub start until every target is Synced and Healthy."""
    machine0 = machine_cpu()
    await wait_for(lambda: healthz(session, hub), within=HUB_START_TIMEOUT, what="hub up",
                   every=0.1)
    api_up, startup_cpu = time.monotonic() - hub.started, hub.cpu()[0]
    synced = await until_all_healthy(session, hub, count, 120 + 2.0 * count)
    own, children = hub.cpu()
    return {"api_up_s": api_up, "api_up_cpu_s": startup_cpu, **synced,
            "hub_cpu_s": own, "children_cpu_s": children,
            "apps_per_cpu_s": count / own,
            "machine_busy_percent": busy_percent(machine0, machine_cpu()), **hub.memory_mib()}


async def quiet_window(
    session: aiohttp.ClientSession, hub: HubProcess, apis: dict[str, client.ApiClient],
    count: int, window: float,
) -> dict[str, Any]:
    """The hub's CPU, counters and cluster writes over ``window`` seconds of no change."""
    versions, counters = await resource_versions(apis), await metric_counters(session, hub)
    own0, children0 = hub.cpu()
    machine0, started = machine_cpu(), time.monotonic()
    await asyncio.sleep(window)
    own1, children1 = hub.cpu()
    elapsed, machine_busy = time.monotonic() - started, busy_percent(machine0, machine_cpu())
    hub.check_alive()
    after, counters_after = await resource_versions(apis), await metric_counters(session, hub)
    changed = sum(after.get(uid) != rv for uid, rv in versions.items())
    cpu = own1 - own0
    deltas = {k: v - counters.get(k, 0.0) for k, v in counters_after.items()
              if v != counters.get(k, 0.0)}
    return {"window_s": elapsed, "hub_cpu_s": cpu, "children_cpu_s": children1 - children0,
            "cpu_percent": 100 * cpu / elapsed,
            "cpu_percent_per_100_apps": 100 * cpu / elapsed * 100 / count,
            "machine_busy_percent": machine_busy,
            "objects_written": changed, "objects_watched": len(versions),
            "counter_deltas": deltas, **hub.memory_mib()}


async def steady_state(
    session: aiohttp.ClientSession, hub: HubProcess, apis: dict[str, client.ApiClient],
    count: int, window: float, all_synced_s: float,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Phase 2: first the rest of the first resync round after start (each target compares
    once more, as its first sync had no watch to vouch for it yet), then ``window`` seconds
    of true steady state."""
    first_round = hub.started + all_synced_s + RESYNC_ROUND - time.monotonic()
    first = await quiet_window(session, hub, apis, count, max(first_round, 1.0))
    steady = await quiet_window(session, hub, apis, count, window)
    return first, steady


async def commit_latency(
    session: aiohttp.ClientSession, hub: HubProcess, apis: dict[str, client.ApiClient],
    upstream: Upstream, count: int, repeats: int,
) -> dict[str, Any]:
    """Phase 3: push one app's ConfigMap change + webhook → value live in its cluster."""
    seconds = []
    for attempt in range(repeats):
        index = (attempt * count // repeats + attempt) % count
        version = f"commit-{attempt + 1}"
        upstream.commit(dict(app_files(index, version)), f"{app_name(index)}: {version}")
        await asyncio.to_thread(upstream.push, "main")
        started = time.monotonic()
        await post_webhook(session, hub, upstream)
        api = apis[cluster_of(index)]

        async def live(api: client.ApiClient = api, namespace: str = app_name(index),
                       want: str = version) -> bool:
            data = await read_configmap(api, namespace)
            return data is not None and data.get("version") == want

        await wait_for(live, within=LATENCY_TIMEOUT, what=f"{version} live", every=POLL_EVERY)
        seconds.append(time.monotonic() - started)
    return summary(seconds)


async def deletion_heal(
    apis: dict[str, client.ApiClient], count: int, repeats: int
) -> dict[str, Any]:
    """Phase 4a: delete one app's Deployment → a new one exists."""
    seconds = []
    for attempt in range(repeats):
        index = (attempt * count // repeats + 1) % count
        api, namespace = apis[cluster_of(index)], app_name(index)
        old = await deployment_uid(api, namespace)
        await client.AppsV1Api(api).delete_namespaced_deployment("web", namespace)
        started = time.monotonic()

        async def back(api: client.ApiClient = api, namespace: str = namespace,
                       old: str | None = old) -> bool:
            uid = await deployment_uid(api, namespace)
            return uid is not None and uid != old

        await wait_for(back, within=LATENCY_TIMEOUT, what=f"{namespace}/web recreated",
                       every=POLL_EVERY)
        seconds.append(time.monotonic() - started)
    return summary(seconds)


async def edit_heal(apis: dict[str, client.ApiClient], count: int, repeats: int) -> dict[str, Any]:
    """Phase 4b: another field manager changes a ConfigMap value → fleetsync's is back."""
    seconds = []
    for attempt in range(repeats):
        index = (attempt * count // repeats + 2) % count
        api, namespace = apis[cluster_of(index)], app_name(index)
        before = await read_configmap(api, namespace)
        if before is None:
            raise RuntimeError(f"{namespace}/settings is missing")
        await client.CoreV1Api(api).patch_namespaced_config_map(
            "settings", namespace, {"data": {"version": "intruder"}}, field_manager=INTRUDER)
        started = time.monotonic()

        async def healed(api: client.ApiClient = api, namespace: str = namespace,
                         want: str = before["version"]) -> bool:
            data = await read_configmap(api, namespace)
            return data is not None and data.get("version") == want

        await wait_for(healed, within=LATENCY_TIMEOUT, what=f"{namespace}/settings healed",
                       every=POLL_EVERY)
        seconds.append(time.monotonic() - started)
    return summary(seconds)


# ------------------------------------------------------------------ one fleet size
@contextlib.asynccontextmanager
async def cluster_clients(clusters: list[TestCluster]) -> Any:
    """An API client per cluster name, closed on the way out."""
    async with contextlib.AsyncExitStack() as stack:
        yield {c.name: await stack.enter_async_context(c.api_client()) for c in clusters}


async def measure(
    hub: HubProcess, clusters: list[TestCluster], upstream: Upstream, count: int,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """All four phases against one running hub."""
    async with aiohttp.ClientSession() as session, cluster_clients(clusters) as apis:
        _say(f"N={count}: waiting for all targets Synced+Healthy")
        first = await initial_sync(session, hub, count)
        _say(f"N={count}: synced in {first['all_healthy_s']:.1f}s; steady window "
             f"{args.window:.0f}s")
        first_round, steady = await steady_state(session, hub, apis, count, args.window,
                                                 first["all_synced_s"] or 0.0)
        listing = await list_apps_ms(session, hub)
        _say(f"N={count}: commit → cluster latency")
        commit = await commit_latency(session, hub, apis, upstream, count, args.repeats)
        _say(f"N={count}: drift → heal latency")
        deletion = await deletion_heal(apis, count, args.repeats)
        edit = await edit_heal(apis, count, args.repeats)
        hub.check_alive()
        return {"apps": count, "initial_sync": first, "first_resync_round": first_round,
                "steady": steady, "get_apps": listing,
                "commit_to_cluster": commit, "drift_delete_to_heal": deletion,
                "drift_edit_to_heal": edit, "memory_end": hub.memory_mib()}


def bench_size(
    count: int, daemon: Daemon, scratch: Path, args: argparse.Namespace
) -> dict[str, Any]:
    """Fresh clusters, repository and hub for ``count`` apps; the figures of all phases."""
    root = scratch / f"n{count}"
    root.mkdir()
    with local_clusters(root / "clusters") as clusters:
        upstream = new_upstream(daemon, root, f"fleet-{count}", repo_files(count))
        directory = hub_dir(root / "hub", clusters,
                            application_files(count, upstream.url))
        _say(f"N={count}: starting the hub ({count} apps on {len(clusters)} clusters)")
        with hub_process(directory) as hub:
            result = asyncio.run(measure(hub, clusters, upstream, count, args))
            result.update(hub.log_problems())
        return result


# ------------------------------------------------------------------ report
def print_table(rows: list[dict[str, Any]]) -> None:
    """The figures of every fleet size, one column per size."""
    def line(label: str, cell: Callable[[dict[str, Any]], str]) -> None:
        print(f"{label:<40}" + "".join(f"{cell(r):>14}" for r in rows))

    line("apps (targets)", lambda r: str(r["apps"]))
    line("initial: hub API up", lambda r: f"{r['initial_sync']['api_up_s']:.1f} s")
    line("initial: hub CPU until API up", lambda r: f"{r['initial_sync']['api_up_cpu_s']:.1f} s")
    line("initial: all Synced", lambda r: f"{r['initial_sync']['all_synced_s']:.1f} s")
    line("initial: all Synced+Healthy", lambda r: f"{r['initial_sync']['all_healthy_s']:.1f} s")
    line("initial: hub CPU", lambda r: f"{r['initial_sync']['hub_cpu_s']:.1f} s")
    line("initial: apps per CPU-second", lambda r: f"{r['initial_sync']['apps_per_cpu_s']:.1f}")
    line("initial: machine busy", lambda r: f"{r['initial_sync']['machine_busy_percent']:.0f} %")
    line("first resync round: hub CPU", lambda r: f"{r['first_resync_round']['hub_cpu_s']:.2f} s"
         f"/{r['first_resync_round']['window_s']:.0f}")
    line("steady: hub CPU in window", lambda r: f"{r['steady']['hub_cpu_s']:.2f} s")
    line("steady: CPU %", lambda r: f"{r['steady']['cpu_percent']:.2f} %")
    line("steady: CPU % per 100 apps",
         lambda r: f"{r['steady']['cpu_percent_per_100_apps']:.2f} %")
    line("steady: objects written", lambda r: f"{r['steady']['objects_written']}"
         f"/{r['steady']['objects_watched']}")
    line("GET /api/v1/apps median", lambda r: f"{r['get_apps']['median_ms']:.1f} ms")
    line("peak RSS (whole run)", lambda r: f"{r['memory_end']['peak_rss_mib']:.0f} MiB")
    for key, label in (("commit_to_cluster", "commit→cluster (webhook)"),
                       ("drift_delete_to_heal", "Deployment deleted→back"),
                       ("drift_edit_to_heal", "ConfigMap edited→healed")):
        line(f"{label} median", lambda r, k=key: f"{r[k]['median_s']:.2f} s")
        line(f"{label} max", lambda r, k=key: f"{r[k]['max_s']:.2f} s")


def write_results(rows: list[dict[str, Any]], args: argparse.Namespace,
                  info: dict[str, Any]) -> Path:
    """``loadtests/results/hub_bench-<UTC>.json``."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"hub_bench-{stamp}.json"
    out.write_text(json.dumps({
        "benchmark": "hub", "when": stamp, "machine": info,
        "settings": {"clusters": CLUSTERS, "reconcile_interval": RECONCILE_INTERVAL,
                     "git_poll_interval": "30s", "steady_window_s": args.window,
                     "first_resync_round_s": RESYNC_ROUND, "repeats": args.repeats,
                     "hub": "python -m engine.cli serve (uvloop, log level INFO)"},
        "sizes": rows,
    }, indent=2) + "\n")
    return out


def main() -> int:
    """Run every fleet size, print the table and write the JSON result file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--apps", type=int, nargs="+", default=[50, 200])
    parser.add_argument("--window", type=float, default=60.0, help="steady-state seconds")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up as on Ctrl-C
    info = machine()
    started = time.monotonic()
    rows = []
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        scratch = Path(tmp)
        (scratch / "git").mkdir()
        with serve_git(scratch / "git") as daemon:
            for count in args.apps:
                rows.append(bench_size(count, daemon, scratch, args))
    print_table(rows)
    out = write_results(rows, args, info)
    print(f"total {time.monotonic() - started:.0f} s; results: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
