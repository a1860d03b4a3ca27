"""The fleet run's report: the summary of its figures, the JSON file, a printed table and
PNG plots (latency CDFs of this run; cold sync time and CPU vs apps, and peak RSS vs pairs,
over every ``fleet-*.json`` in the output directory that measured the same hub code: the
git tree of engine/ at the hub's start). Plots need matplotlib (the ``bench``
extra); without it they are skipped with a note.
"""

from __future__ import annotations

import json
import statistics
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loadtests.fleet import Settings

LATENCIES = ("commit_one_app_webhook", "commit_shared_base_webhook", "commit_one_app_polling",
             "drift_delete", "drift_edit", "drift_scale")


def required_fields() -> list[str]:
    """The dotted paths a complete result file has, each with a value (not None)."""
    fields = ["when", "machine.nproc", "versions.fleetsync_commit", "versions.kubernetes",
              "parameters.clusters", "parameters.apps", "parameters.objects", "parameters.mode",
              "git_sha_of_fleet_repo", "floor.best_concurrency", "floor.apply.seconds",
              "floor.apply.settled_s", "floor.apply.api_requests.by_verb",
              "floor.dry_run_then_apply.seconds", "floor.dry_run_then_apply.base_update.seconds",
              "background_requests_per_s", "cold_sync.all_healthy_s", "cold_sync.hub_cpu_s",
              "cold_sync.peak_rss_mib", "cold_sync.api_requests.by_verb",
              "steady.first_resync_round.hub_cpu_s", "steady.window.hub_cpu_percent",
              "steady.window.objects_written", "steady.window.renders",
              "steady.window.api_requests_per_resync_pass", "get_apps.median_ms",
              "latency.outage.stopped_cluster", "hub_log.hub_log_warnings",
              "summary.cold_sync_over_floor_apply", "summary.shared_base_over_floor"]
    for name in LATENCIES:
        for phase in ("normal", "outage"):
            fields += [f"latency.{phase}.{name}.{p}" for p in ("p50_s", "p95_s", "p99_s")]
        fields.append(f"latency.outage_vs_normal.{name}.within_20_percent")
    return fields


def missing(data: dict[str, Any]) -> list[str]:
    """The required fields that ``data`` lacks or holds as None."""
    def value(path: str) -> Any:
        found: Any = data
        for part in path.split("."):
            if not isinstance(found, dict) or part not in found:
                return None
            found = found[part]
        return found

    return [path for path in required_fields() if value(path) is None]


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def _pcts(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(figures[k], 3) if figures.get(k) is not None else None)
            for k in ("n", "p50_s", "p95_s", "p99_s")}


def _minus(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    """``a`` minus ``b`` per key, where they differ."""
    return {k: a.get(k, 0) - b.get(k, 0) for k in sorted(set(a) | set(b))
            if a.get(k, 0) != b.get(k, 0)}


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """The headline figures of a run, each beside the floor where there is one."""
    floor, cold = result["floor"], result["cold_sync"]
    window = result["steady"]["window"]
    normal, outage = result["latency"]["normal"], result["latency"]["outage"]
    base = normal["commit_shared_base_webhook"]
    return {
        "floor_best_concurrency_per_cluster": floor["best_concurrency"],
        "floor_apply_s": round(floor["apply"]["seconds"], 2),
        "floor_dry_run_then_apply_s": round(floor["dry_run_then_apply"]["seconds"], 2),
        "floor_apply_until_available_s": round(floor["apply"]["settled_s"], 2),
        "floor_objects": floor["apply"]["objects"],
        "cold_sync_s": round(cold["all_healthy_s"], 2),
        "cold_sync_over_floor_apply": _ratio(cold["all_healthy_s"], floor["apply"]["seconds"]),
        "cold_sync_over_floor_dry_run_then_apply": _ratio(
            cold["all_healthy_s"], floor["dry_run_then_apply"]["seconds"]),
        "cold_sync_over_floor_until_available": _ratio(
            cold["all_healthy_s"], floor["apply"]["settled_s"]),
        "cold_sync_hub_cpu_s": round(cold["hub_cpu_s"], 2),
        "cold_sync_api_requests_by_verb": cold["api_requests"]["by_verb"],
        "peak_rss_mib": round(result["memory_end"]["peak_rss_mib"], 1),
        "peak_rss_bytes_per_pair": round(cold["peak_rss_bytes_per_pair"]),
        "rss_growth_bytes_per_pair": round(
            (result["memory_end"]["peak_rss_mib"] - cold["rss_at_api_up_mib"]) * 2**20
            / cold["pairs"]),
        "steady_hub_cpu_percent": round(window["hub_cpu_percent"], 2),
        "steady_objects_written": window["objects_written"],
        "steady_renders": window["renders"],
        "steady_api_requests_per_resync_pass": window["api_requests_per_resync_pass"],
        "cold_sync_api_requests_over_floor_by_verb": _minus(
            cold["api_requests"]["by_verb"],
            floor["dry_run_then_apply"]["api_requests"]["by_verb"]),
        **_shared_base(base["all_applied"], floor["dry_run_then_apply"]["base_update"]),
        "shared_base_hub_cpu_s": round(base["hub_cpu_s"], 2),
        "shared_base_machine_busy_percent": round(base.get("machine_busy_percent", 0.0), 1),
        "shared_base_reconcile_steps": base.get("reconcile_steps", {}),
        **_plan(result.get("plan"), floor),
        "latency": {name: _pcts(normal[name]) for name in LATENCIES},
        "latency_one_cluster_stopped": {name: _pcts(outage[name]) for name in LATENCIES},
        "outage_within_20_percent": {name: result["latency"]["outage_vs_normal"][name]
                                     ["within_20_percent"] for name in LATENCIES},
    }


def _shared_base(hub: dict[str, Any], floor: dict[str, Any]) -> dict[str, Any]:
    """The shared-base commits beside the floor's updates of the same objects: the median
    of each (the lower middle one of an even count; the floor's figures are already its
    median update's, ``phases.base_updates``), and every run of both. One run of either
    moves by a third from one run to the next on this machine; the median of a few is the
    figure the target is judged by."""
    hub_each = [round(s, 2) for s in hub["samples_s"]]
    floor_each = [round(s, 2) for s in floor.get("each_s", [floor["seconds"]])]
    hub_s, floor_s = statistics.median_low(hub_each), round(floor["seconds"], 2)
    return {"shared_base_all_applied_s": hub_s,
            "shared_base_floor_dry_run_then_apply_s": floor_s,
            "shared_base_over_floor": _ratio(hub_s, floor_s),
            "shared_base_all_applied_each_s": hub_each,
            "shared_base_floor_each_s": floor_each}


def _plan(plan: dict[str, Any] | None, floor: dict[str, Any]) -> dict[str, Any]:
    """The plan of a shared-base branch beside the floor's dry runs of the same objects (the
    dry run + apply of the base update less its plain apply)."""
    if plan is None:  # runs before plans were measured
        return {}
    dry_runs = (floor["dry_run_then_apply"]["base_update"]["seconds"]
                - floor["apply"]["base_update"]["seconds"])
    return {"plan_s": round(plan["seconds"], 2), "plan_hub_cpu_s": round(plan["hub_cpu_s"], 2),
            "plan_targets_changing": plan["summary"]["Changes"],
            "plan_floor_dry_runs_s": round(dry_runs, 2),
            "plan_over_floor_dry_runs": _ratio(plan["seconds"], max(dry_runs, 0.01)),
            "plan_writes": _object_writes(plan["api_requests"]["by_resource"])}


def _object_writes(by_resource: dict[str, int]) -> dict[str, int]:
    """Writes of objects (``APPLY configmaps``...), leaving out dry runs and the control
    plane's own Lease and Event churn."""
    writes = ("APPLY ", "PATCH ", "PUT ", "POST ", "DELETE ")
    return {what: n for what, n in by_resource.items() if what.startswith(writes)
            and "dry run" not in what and not what.endswith((" leases", " events"))}


def stamp() -> str:
    """Now, UTC, as result files are named."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def write(data: dict[str, Any], settings: Settings, when: str) -> Path:
    """``<out>/fleet-<when>[-smoke].json`` and the plots; the JSON's path."""
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    data = {**data, "missing_fields": missing(data)}
    path = out / f"fleet-{when}{'-smoke' if settings.smoke else ''}.json"
    path.write_text(json.dumps(data, indent=2) + "\n")
    if settings.plots:
        data["plots"] = plots(data, out, when)
        path.write_text(json.dumps(data, indent=2) + "\n")
    return path


# ------------------------------------------------------------------ printing
def print_summary(data: dict[str, Any]) -> None:
    """The headline figures as a table."""
    s, p = data["summary"], data["parameters"]
    print(f"\nfleet: {p['clusters']} clusters x {p['apps']} apps x {p['objects']} objects "
          f"({p['pairs']} pairs, mode {p['mode']}), commit {data['versions']['fleetsync_commit']}")
    rows = [
        ("floor: best concurrency per cluster", s["floor_best_concurrency_per_cluster"]),
        ("floor: apply (s)", s["floor_apply_s"]),
        ("floor: dry run + apply (s)", s["floor_dry_run_then_apply_s"]),
        ("floor: apply until Available (s)", s["floor_apply_until_available_s"]),
        ("cold sync, Synced+Healthy (s)", s["cold_sync_s"]),
        ("  / floor apply", s["cold_sync_over_floor_apply"]),
        ("  / floor dry run + apply", s["cold_sync_over_floor_dry_run_then_apply"]),
        ("  / floor until Available", s["cold_sync_over_floor_until_available"]),
        ("cold sync: hub CPU (s)", s["cold_sync_hub_cpu_s"]),
        ("cold sync: API requests", s["cold_sync_api_requests_by_verb"]),
        ("  more than the floor's dry run + apply", s["cold_sync_api_requests_over_floor_by_verb"]),
        ("peak RSS (MiB) / bytes per pair",
         f"{s['peak_rss_mib']} / {s['peak_rss_bytes_per_pair']}"),
        ("RSS growth after API up, bytes per pair", s["rss_growth_bytes_per_pair"]),
        ("steady: hub CPU (% of a core)", s["steady_hub_cpu_percent"]),
        ("steady: objects written", s["steady_objects_written"]),
        ("steady: renders", s["steady_renders"]),
        ("steady: API requests per resync pass", s["steady_api_requests_per_resync_pass"]),
        ("shared base: all applied (s) / floor, medians", f"{s['shared_base_all_applied_s']} / "
         f"{s['shared_base_floor_dry_run_then_apply_s']} = {s['shared_base_over_floor']}"),
        ("shared base: each commit / each floor update (s)",
         f"{s.get('shared_base_all_applied_each_s')} / {s.get('shared_base_floor_each_s')}"),
        ("shared base: hub CPU, all commits (s)", s["shared_base_hub_cpu_s"]),
        ("shared base: machine busy (%)", s.get("shared_base_machine_busy_percent", "")),
    ]
    if "plan_s" in s:
        rows += [
            ("plan of the shared base (s) / floor", f"{s['plan_s']} / "
             f"{s['plan_floor_dry_runs_s']} dry runs = {s['plan_over_floor_dry_runs']}"),
            ("plan: targets changing, hub CPU (s)",
             f"{s['plan_targets_changing']}, {s['plan_hub_cpu_s']}"),
            ("plan: writes during the plan", s["plan_writes"]),
        ]
    for label, value in rows:
        print(f"  {label:<40} {value}")
    print(f"  {'latency (s)':<40} {'n':>4} {'p50':>7} {'p95':>7} {'p99':>7}   "
          f"{'stopped: p50':>12} {'p95':>7} {'p99':>7} {'≤20%':>5}")
    for name in LATENCIES:
        a, b = s["latency"][name], s["latency_one_cluster_stopped"][name]
        cells = [_cell(a[k]) for k in ("p50_s", "p95_s", "p99_s")]
        stopped = [_cell(b[k]) for k in ("p50_s", "p95_s", "p99_s")]
        print(f"  {name:<40} {a['n']:>4} {cells[0]:>7} {cells[1]:>7} {cells[2]:>7}   "
              f"{stopped[0]:>12} {stopped[1]:>7} {stopped[2]:>7} "
              f"{'yes' if s['outage_within_20_percent'][name] else 'no':>5}")


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


# ------------------------------------------------------------------ plots
def plots(data: dict[str, Any], out: Path, stamp: str) -> list[str]:
    """Write the PNGs; their file names (none without matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("[fleet] no plots: matplotlib is missing (pip install -e '.[bench]')")
        return []
    runs = [r for r in _runs(out) if _same_code(r, data)]
    written = [_latency_cdfs(plt, data, out / f"fleet-{stamp}-latency.png"),
               _scale(plt, runs, out / "fleet-scale.png"),
               _rss(plt, runs, out / "fleet-rss.png")]
    return [p.name for p in written]


TUNING = ("hub_per_cluster", "hub_concurrency", "cluster_qps", "cluster_applies")


def _runs(out: Path) -> list[dict[str, Any]]:
    """Every full (not smoke) run's JSON in ``out`` with the hub's default limits."""
    found = []
    for path in sorted(out.glob("fleet-*.json")):
        data = json.loads(path.read_text())
        parameters = data.get("parameters", {})
        if parameters.get("smoke") or "summary" not in data:
            continue
        if not any(parameters.get(name) for name in TUNING):
            found.append(data)
    return found


def _same_code(run: dict[str, Any], data: dict[str, Any]) -> bool:
    """Whether ``run`` measured the hub code ``data`` did (runs that did not record it:
    every such run, as before)."""
    tree = data.get("hub_engine_tree")
    return not tree or run.get("hub_engine_tree") == tree


def _latency_cdfs(plt: Any, data: dict[str, Any], path: Path) -> Path:
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5), sharex=True, sharey=True)
    for axis, phase, title in ((axes[0], "normal", "all clusters up"),
                               (axes[1], "outage", "one cluster stopped")):
        for name in LATENCIES:
            samples = data["latency"][phase][name]["samples_s"]
            if samples:
                fractions = [i / len(samples) for i in range(len(samples) + 1)]
                axis.step([samples[0], *samples], fractions, where="post",
                          label=f"{name} (n={len(samples)})")
        axis.set_xscale("log")
        axis.xaxis.set_minor_formatter(plt.NullFormatter())
        axis.set_xlabel("seconds")
        axis.set_title(title)
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=7, loc="lower right")
    axes[0].set_ylabel("fraction of samples")
    p = data["parameters"]
    figure.suptitle(f"fleetsync latencies: {p['clusters']} clusters x {p['apps']} apps x "
                    f"{p['objects']} objects ({data['when']})")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _scale(plt: Any, runs: list[dict[str, Any]], path: Path) -> Path:
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    series = sorted({(r["parameters"]["clusters"], r["parameters"]["mode"]) for r in runs})
    for number, (clusters, mode) in enumerate(series):
        rows = sorted((r for r in runs if (r["parameters"]["clusters"],
                                           r["parameters"]["mode"]) == (clusters, mode)),
                      key=lambda r: r["parameters"]["apps"])
        apps, colour = [r["parameters"]["apps"] for r in rows], f"C{number % 10}"
        left.plot(apps, [r["summary"]["cold_sync_s"] for r in rows], "o-", color=colour,
                  label=f"hub, {clusters} clusters, {mode}")
        left.plot(apps, [r["summary"]["floor_apply_s"] for r in rows], "x--", color=colour,
                  label=f"floor (SSA loop), {clusters} clusters")
        right.plot(apps, [r["summary"]["cold_sync_hub_cpu_s"] for r in rows], "o-",
                   color=colour, label=f"{clusters} clusters, {mode}")
    left.set_title("cold sync: all pairs Synced+Healthy (default limits)")
    left.set_ylabel("seconds")
    right.set_title("cold sync: hub CPU")
    right.set_ylabel("CPU seconds")
    for axis in (left, right):
        axis.set_xlabel("apps")
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _rss(plt: Any, runs: list[dict[str, Any]], path: Path) -> Path:
    figure, axis = plt.subplots(figsize=(6, 4.5))
    rows = sorted(runs, key=lambda r: r["parameters"]["pairs"])
    axis.plot([r["parameters"]["pairs"] for r in rows],
              [r["summary"]["peak_rss_mib"] for r in rows], "o-")
    axis.set_title("hub peak RSS")
    axis.set_xlabel("(app, cluster) pairs")
    axis.set_ylabel("MiB")
    axis.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path
