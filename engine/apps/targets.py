"""Fleet targeting: one Application becomes one ``AppTarget`` per cluster it deploys to (pure).

The destination picks clusters among those registered:

- ``server: https://kubernetes.default.svc`` (Argo CD's own cluster) is the registered
  cluster whose server is that URL, else the default cluster: the one labelled
  ``fleetsync.io/default: "true"``, else the one named ``in-cluster``;
- ``server: <url>`` is the cluster registered with that server URL;
- ``name: <name>`` is the cluster of that name;
- ``clusterSelector`` (fleetsync.io) is every cluster whose labels match, possibly none.

An unknown server or name is a ``ConfigError`` for that Application only. Overrides are
applied in order to each target whose cluster they select; a later override wins field by
field. Everything the reconcile of one (app, cluster) needs is in its ``AppTarget``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.apps.application import Application, Source, cascade_propagation
from engine.apps.fields import Fields
from engine.apps.helm import HelmOptions
from engine.apps.selector import ClusterNames, LabelSelector
from engine.apps.syncpolicy import Automated, Retry, SyncFlags
from engine.model import TargetKey
from engine.render.jsonnet import JsonnetOptions

IN_CLUSTER_SERVER = "https://kubernetes.default.svc"
IN_CLUSTER_NAME = "in-cluster"
DEFAULT_CLUSTER_LABEL = "fleetsync.io/default"


@dataclass(frozen=True)
class ClusterInfo:
    """A registered cluster as targeting and policy see it: name, server URL, labels."""

    name: str
    server: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_default(self) -> bool:
        """Whether ``https://kubernetes.default.svc`` may mean this cluster."""
        return self.labels.get(DEFAULT_CLUSTER_LABEL) == "true" or self.name == IN_CLUSTER_NAME

    @property
    def servers(self) -> tuple[str, ...]:
        """The server URLs this cluster answers to (its own, and the in-cluster alias)."""
        own = (self.server.rstrip("/"),) if self.server else ()
        return own + ((IN_CLUSTER_SERVER,) if self.is_default else ())


@dataclass(frozen=True)
class TargetOptions:
    """How to sync one target: the Application's policy, options and diff rules."""

    automated: Automated | None = None
    sync: SyncFlags = field(default_factory=SyncFlags)
    retry: Retry | None = None
    ignore_differences: tuple[Mapping[str, Any], ...] = ()
    recurse: bool = False
    jsonnet: JsonnetOptions | None = None  # how the directory's .jsonnet files evaluate
    helm: HelmOptions | None = None  # the source is a Helm chart rendered with these
    chart: str = ""  # a chart of the Helm repository repo_url; revision is its version
    sources: tuple[Source, ...] = ()  # all of spec.sources, when it has several
    revision_history_limit: int = 10
    cascade: str | None = None  # deletion propagation from the resources finalizer, if any

    @property
    def reconcile_interval(self) -> float:
        """Seconds between periodic reconciles (``timeout.reconcile``, default 180)."""
        return self.sync.reconcile_interval


@dataclass(frozen=True)
class AppTarget:
    """One (app, cluster) pair, after overrides: what to render and where to apply it."""

    key: TargetKey
    project: str
    repo_url: str
    revision: str
    path: str
    namespace: str
    options: TargetOptions = field(default_factory=TargetOptions)


def expand_targets(app: Application, clusters: Sequence[ClusterInfo]) -> list[AppTarget]:
    """The targets of ``app`` among ``clusters``; ConfigError if its destination is unknown."""
    return [_target(app, cluster) for cluster in destination_clusters(app, clusters)]


def destination_clusters(app: Application, clusters: Sequence[ClusterInfo]) -> list[ClusterInfo]:
    """The clusters ``app`` deploys to, in registration order."""
    dest = app.destination
    fields = Fields(app.source_file, f"Application {app.name}")
    if dest.cluster_selector is not None:
        return [c for c in clusters if dest.cluster_selector.matches(c.labels)]
    if dest.name:
        found = [c for c in clusters if c.name == dest.name]
        if not found:
            raise fields.error(
                "spec.destination.name", f"no registered cluster is named {dest.name!r}"
            )
        return found
    by_server = [c for c in clusters if c.server.rstrip("/") == dest.server]
    if by_server:
        return by_server[:1]
    if dest.server == IN_CLUSTER_SERVER:
        return [default_cluster(clusters, fields)]
    raise fields.error("spec.destination.server", f"no registered cluster has server {dest.server}")


def default_cluster(clusters: Sequence[ClusterInfo], fields: Fields) -> ClusterInfo:
    """The cluster ``https://kubernetes.default.svc`` means; ConfigError if none or several."""
    labelled = [c for c in clusters if c.labels.get(DEFAULT_CLUSTER_LABEL) == "true"]
    if len(labelled) > 1:
        names = ", ".join(c.name for c in labelled)
        raise fields.error(
            "spec.destination.server",
            f"several clusters are labelled {DEFAULT_CLUSTER_LABEL}=true: {names}",
        )
    candidates = labelled or [c for c in clusters if c.name == IN_CLUSTER_NAME]
    if not candidates:
        raise fields.error(
            "spec.destination.server",
            f"{IN_CLUSTER_SERVER} needs a cluster "
            f'named {IN_CLUSTER_NAME} or labelled {DEFAULT_CLUSTER_LABEL}: "true"',
        )
    return candidates[0]


def _target(app: Application, cluster: ClusterInfo) -> AppTarget:
    path, revision = app.source.path, app.source.target_revision
    namespace = app.destination.namespace
    for override in app.overrides:
        if not _selects(override.clusters, cluster):
            continue
        path = override.path if override.path is not None else path
        revision = override.target_revision or revision
        namespace = override.namespace if override.namespace is not None else namespace
    return AppTarget(
        key=TargetKey(app.name, cluster.name),
        project=app.project,
        repo_url=app.source.repo_url,
        revision=revision,
        path=path.strip("/"),
        namespace=namespace,
        options=TargetOptions(
            automated=app.sync_policy.automated,
            sync=app.sync_policy.options,
            retry=app.sync_policy.retry,
            ignore_differences=app.ignore_differences,
            recurse=app.source.recurse,
            jsonnet=app.source.jsonnet,
            helm=app.source.helm,
            chart=app.source.chart,
            sources=app.sources,
            revision_history_limit=app.revision_history_limit,
            cascade=cascade_propagation(app.finalizers),
        ),
    )


def _selects(clusters: LabelSelector | ClusterNames, cluster: ClusterInfo) -> bool:
    if isinstance(clusters, ClusterNames):
        return clusters.matches_cluster(cluster.name)
    return clusters.matches(cluster.labels)
