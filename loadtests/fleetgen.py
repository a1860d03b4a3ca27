"""The generated fleet: a Git repository shaped like real ones, and its Applications (pure).

The repository has a few shared bases and one overlay per app::

    bases/common/            ConfigMap ``common`` (data.shared: every app reads it)
    bases/<flavor>/          ../common + Deployment <flavor> + Service <flavor>
                             (flavors web, worker, api; the Deployment reads ``common``)
    apps/app-NNNN/           resources: [../../bases/<flavor>, settings-*.yaml],
                             namePrefix app-NNNN-, labels (part-of, team),
                             commonAnnotations (bench.fleetsync.io/revision),
                             a strategic-merge patch (replicas 1, APP_NAME, image tag)

An app renders to exactly K objects: ``[ConfigMap common, Deployment, Service][:K]`` from
the bases, plus K-3 ConfigMaps ``settings-<j>`` of its own. Changing
``bases/common/configmap.yaml`` changes one object in every app; bumping an app's
revision annotation changes every object of that app (and rolls its Deployment).

Applications: ``argocd`` mode writes one Argo CD Application per (app, cluster), named
``<app>-<cluster>``; ``fleet`` mode one ``fleetsync.io`` Application per app selecting
every cluster by label (``env`` exists). Each app's namespace is its name, on every cluster,
or with ``per_namespace`` N > 1, ``apps-NNNN`` shared by N apps in a row (big runs: deleting
thousands of namespaces between the floor's phases takes the namespace controller longer
than the phases themselves).
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from tests.support.hubkit import application_yaml

FLAVORS = ("web", "worker", "api")
BASE_KINDS = ("ConfigMap", "Deployment", "Service")
REVISION = "bench.fleetsync.io/revision"
MODES = ("argocd", "fleet")
COMMON = "common"


@dataclass(frozen=True)
class Target:
    """One (app, cluster) pair: the Application that owns it and where its objects land."""

    index: int
    app: str  # the generated app (its directory)
    application: str  # the Application's name (what the hub tracks objects by)
    cluster: str
    namespace: str


def namespace_of(index: int, per_namespace: int = 1) -> str:
    """App ``index``'s namespace: its name, or the one it shares with ``per_namespace``
    apps in a row."""
    return app_name(index) if per_namespace <= 1 else f"apps-{index // per_namespace:04d}"


def app_name(index: int) -> str:
    """App ``index``'s name, which is also its namespace and directory."""
    return f"app-{index:04d}"


def app_path(index: int) -> str:
    """App ``index``'s overlay directory in the repository."""
    return f"apps/{app_name(index)}"


def flavor(index: int) -> str:
    """The base app ``index`` builds on."""
    return FLAVORS[index % len(FLAVORS)]


def base_kinds(objects: int) -> tuple[str, ...]:
    """The kinds an app takes from the bases when it has ``objects`` objects."""
    return BASE_KINDS[:objects]


def common_name(index: int) -> str:
    """The name of app ``index``'s copy of the shared ConfigMap, as rendered."""
    return f"{app_name(index)}-{COMMON}"


def deployment_name(index: int) -> str:
    """The name of app ``index``'s Deployment, as rendered."""
    return f"{app_name(index)}-{flavor(index)}"


# ------------------------------------------------------------------ the repository
def _dump(doc: dict[str, object]) -> str:
    return yaml.safe_dump(doc, sort_keys=False)


def common_files(shared: str) -> dict[str, str]:
    """``bases/common``: the ConfigMap every app shares, holding ``shared``."""
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": COMMON},
                 "data": {"shared": shared, "LOG_LEVEL": "info", "FEATURE_FLAGS": "a,b,c"}}
    return {"bases/common/kustomization.yaml": _dump({"resources": ["configmap.yaml"]}),
            "bases/common/configmap.yaml": _dump(configmap)}


def flavor_files(name: str, objects: int) -> dict[str, str]:
    """``bases/<name>``: the common ConfigMap, then a Deployment and a Service as K allows."""
    kinds = base_kinds(objects)
    labels = {"app.kubernetes.io/name": name}
    resources = ["../common"]
    files: dict[str, str] = {}
    if "Deployment" in kinds:
        resources.append("deployment.yaml")
        container = {"name": name, "image": f"registry.local/{name}:1.0",
                     "ports": [{"containerPort": 8080}],
                     "envFrom": [{"configMapRef": {"name": COMMON}}],
                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}
        files[f"bases/{name}/deployment.yaml"] = _dump({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 2, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [container]}}}})
    if "Service" in kinds:
        resources.append("service.yaml")
        files[f"bases/{name}/service.yaml"] = _dump({
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]}})
    files[f"bases/{name}/kustomization.yaml"] = _dump({"resources": resources})
    return files


def overlay_files(index: int, objects: int, revision: int) -> dict[str, str]:
    """``apps/app-NNNN``: app ``index``'s overlay at ``revision``."""
    name, base = app_name(index), flavor(index)
    extra = [f"settings-{j}.yaml" for j in range(max(0, objects - len(BASE_KINDS)))]
    kustomization: dict[str, object] = {
        "resources": [f"../../bases/{base}", *extra],
        "namePrefix": f"{name}-",
        "labels": [{"pairs": {"app.kubernetes.io/part-of": name, "team": f"team-{index % 7}"},
                    "includeSelectors": False}],
        "commonAnnotations": {REVISION: str(revision)},
    }
    files = {}
    if "Deployment" in base_kinds(objects):
        kustomization["patches"] = [{"path": "patch.yaml"}]
        files[f"{app_path(index)}/patch.yaml"] = _dump({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": base},
            "spec": {"replicas": 1, "template": {"spec": {"containers": [
                {"name": base, "image": f"registry.local/{base}:1.{index % 5}",
                 "env": [{"name": "APP_NAME", "value": name}]}]}}}})
    for j, file in enumerate(extra):
        files[f"{app_path(index)}/{file}"] = _dump({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"settings-{j}"},
            "data": {"app": name, "slot": str(j), "payload": f"{name}-{j}-" + "x" * 64}})
    files[f"{app_path(index)}/kustomization.yaml"] = _dump(kustomization)
    return files


def repository(apps: int, objects: int) -> dict[str, str]:
    """Every file of the generated repository for ``apps`` apps of ``objects`` objects."""
    if objects < 1:
        raise ValueError(f"--objects must be at least 1, not {objects}")
    files = {"README.md": f"fleet load test: {apps} apps of {objects} objects\n",
             **common_files("v0")}
    for name in FLAVORS:
        files.update(flavor_files(name, objects))
    for index in range(apps):
        files.update(overlay_files(index, objects, 0))
    return files


def one_app_change(index: int, objects: int, revision: int) -> dict[str, str]:
    """The files of a commit touching only app ``index`` (its revision annotation)."""
    return overlay_files(index, objects, revision)


def base_change(shared: str) -> dict[str, str]:
    """The files of a commit touching the base every app shares."""
    return common_files(shared)


# ------------------------------------------------------------------ Applications
def targets(mode: str, apps: int, clusters: list[str], per_namespace: int = 1) -> list[Target]:
    """Every (app, cluster) pair; each app goes to every cluster."""
    if mode not in MODES:
        raise ValueError(f"--mode must be one of {', '.join(MODES)}, not {mode!r}")
    return [Target(i, app_name(i), app_name(i) if mode == "fleet" else f"{app_name(i)}-{c}", c,
                   namespace_of(i, per_namespace))
            for i in range(apps) for c in clusters]


def application_files(
    mode: str, apps: int, clusters: list[str], repo_url: str, interval: str,
    per_namespace: int = 1,
) -> dict[str, str]:
    """The Application files of the fleet, by file name."""
    policy = {"automated": {"prune": True, "selfHeal": True},
              "syncOptions": ["CreateNamespace=true", f"timeout.reconcile={interval}"]}
    if mode == "fleet":
        selector = {"matchExpressions": [{"key": "env", "operator": "Exists"}]}
        return {f"{app_name(i)}.yaml": application_yaml(
                    app_name(i), repo_url, app_path(i), namespace_of(i, per_namespace),
                    api_version="fleetsync.io/v1alpha1",
                    extra_spec={"syncPolicy": policy, "destination": {
                        "namespace": namespace_of(i, per_namespace),
                        "clusterSelector": selector}})
                for i in range(apps)}
    return {f"{t.application}.yaml": application_yaml(
                t.application, repo_url, app_path(t.index), t.namespace, cluster=t.cluster,
                extra_spec={"syncPolicy": policy})
            for t in targets(mode, apps, clusters, per_namespace)}
