"""Render benchmark: native renderer (cold, then cache hit) against ``kustomize build``.

For each app (the demo overlays, a generated overlay of 100 resources, and one app of the
fleet benchmark's repository) this prints the median time of a native render without
cache, of one whose bases another render of the same tree already built (the hub keeps
them: ``engine.renderer.shared``), of a cache hit, and of running the kustomize binary on
the same directory, with the ratios kustomize / native. Results are written as JSON under
loadtests/results/.

Usage: python loadtests/render_bench.py [--runs N] [--kustomize PATH]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.render import build  # noqa: E402
from engine.renderer.cache import RenderCache, RenderKey  # noqa: E402
from engine.renderer.shared import SharedDirectories  # noqa: E402
from loadtests import fleetgen  # noqa: E402

DEMO = ROOT / "examples" / "argocd-kustomize-demo" / "repo"  # the project's own demo
RESULTS = ROOT / "loadtests" / "results"


def find_kustomize(explicit: str | None) -> str:
    """The kustomize binary to compare against."""
    sys.path.insert(0, str(ROOT / "tests" / "conformance" / "kustomize"))
    from regenerate import find_kustomize as find  # type: ignore[import-not-found]

    return str(find(explicit))


def median_seconds(action: Callable[[], object], runs: int) -> float:
    """The median wall time of ``runs`` calls of ``action``."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def write_generated_repo(root: Path, count: int = 100) -> Path:
    """A base of ``count`` resources and an overlay using most transformers."""
    base = root / "base"
    base.mkdir(parents=True)
    names = []
    for i in range(count // 4):
        name = f"svc{i:03d}"
        names.append(f"{name}.yaml")
        (base / f"{name}.yaml").write_text(
            f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, labels: {{app: {name}}}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      serviceAccountName: {name}
      containers:
      - name: main
        image: nginx:1.25
        envFrom: [{{configMapRef: {{name: {name}-config}}}}]
        ports: [{{containerPort: 8080}}]
---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  selector: {{app: {name}}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: {name}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: {name}-config}}
data: {{LEVEL: info, INDEX: "{i}"}}
""")
    (base / "kustomization.yaml").write_text("resources:\n" + "".join(f"- {n}\n" for n in names))
    overlay = root / "overlays" / "big"
    overlay.mkdir(parents=True)
    (overlay / "kustomization.yaml").write_text("""resources: [../../base]
namespace: big
namePrefix: big-
commonLabels: {env: big}
commonAnnotations: {owner: bench}
images: [{name: nginx, newTag: "1.27"}]
configMapGenerator:
- name: shared
  literals: [MODE=fast]
patches:
- target: {kind: Deployment}
  patch: |-
    - op: replace
      path: /spec/replicas
      value: 2
- patch: |-
    apiVersion: apps/v1
    kind: Deployment
    metadata: {name: svc000}
    spec:
      template:
        spec:
          containers:
          - name: main
            resources: {limits: {cpu: 500m}}
""")
    return overlay


def write_fleet_repo(root: Path, apps: int = 10) -> Path:
    """The fleet benchmark's repository (``loadtests.fleetgen``); the path of its last app."""
    for name, text in fleetgen.repository(apps, 4).items():
        file = root / name
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text)
    return root / fleetgen.app_path(apps - 1)


def bench_app(name: str, path: Path, root: Path, kustomize: str, runs: int) -> dict[str, object]:
    """Timings of one app."""
    cache = RenderCache()
    key = RenderKey("bench", "0" * 40, str(path))
    objects = build(path, root=root)
    cold = median_seconds(lambda: build(path, root=root), runs)
    shared = SharedDirectories()
    build(path, root=root, shared=shared)  # another app of the tree built the bases
    warm = median_seconds(lambda: build(path, root=root, shared=shared), runs)
    cache.get_or_render(key, lambda: build(path, root=root))
    hit = median_seconds(lambda: cache.get_or_render(key, lambda: build(path, root=root)), runs)
    binary = median_seconds(
        lambda: subprocess.run([kustomize, "build", str(path)], check=True,
                               capture_output=True), runs)
    return {"app": name, "objects": len(objects), "native_cold_ms": cold * 1000,
            "native_shared_bases_ms": warm * 1000,
            "native_cache_hit_ms": hit * 1000, "kustomize_ms": binary * 1000,
            "speedup_cold": binary / cold, "speedup_shared_bases": binary / warm,
            "speedup_cache_hit": binary / hit}


def main() -> int:
    """Run the benchmark, print a table and write the JSON result file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--kustomize", default=None)
    args = parser.parse_args()
    kustomize = find_kustomize(args.kustomize)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        generated = write_generated_repo(Path(scratch) / "generated")
        fleet_app = write_fleet_repo(Path(scratch) / "fleet")
        apps = [("demo-dev", DEMO / "overlays" / "dev", DEMO),
                ("demo-prod", DEMO / "overlays" / "prod", DEMO),
                ("generated-100", generated, Path(scratch) / "generated"),
                ("fleet-app", fleet_app, Path(scratch) / "fleet")]
        for name, path, root in apps:
            rows.append(bench_app(name, path, root, kustomize, args.runs))
    print(f"{'app':<15}{'objects':>8}{'native cold':>13}{'bases kept':>12}{'cache hit':>11}"
          f"{'kustomize':>11}{'x cold':>8}{'x kept':>8}{'x hit':>9}")
    for r in rows:
        print(f"{r['app']:<15}{r['objects']:>8}{r['native_cold_ms']:>11.2f}ms"
              f"{r['native_shared_bases_ms']:>10.2f}ms"
              f"{r['native_cache_hit_ms']:>9.3f}ms{r['kustomize_ms']:>9.1f}ms"
              f"{r['speedup_cold']:>8.1f}{r['speedup_shared_bases']:>8.1f}"
              f"{r['speedup_cache_hit']:>9.0f}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"render_bench-{stamp}.json"
    out.write_text(json.dumps({
        "benchmark": "render", "when": stamp, "runs": args.runs, "kustomize": kustomize,
        "python": platform.python_version(), "machine": platform.machine(), "apps": rows,
    }, indent=2) + "\n")
    print(f"results: {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
