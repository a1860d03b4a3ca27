"""Applications, AppProjects and fleet targeting: parsed from YAML into frozen data (pure).

Argo CD's ``argoproj.io/v1alpha1`` documents are accepted as they are; fleetsync's
``fleetsync.io/v1alpha1`` Application adds ``spec.destination.clusterSelector`` and
``spec.overrides`` (see ``engine.apps.application``). Files are grouped by ``AppSource``
(one per ``apps:`` entry: which projects its Applications may name, whether it may define
AppProjects); ``build_catalog`` decides which definitions are used (``engine.apps.catalog``).
Nothing here does I/O except ``read_dir_source`` and ``load_documents``, which read the
local files they are given. Usage::

    sources = [read_dir_source(Path("apps/"), projects=("team-a",))]
    catalog = build_catalog(sources, ParseCache().parse_sources(sources))
    for app in catalog.applications.values():
        targets = expand_targets(app, clusters)   # one AppTarget per (app, cluster)
"""

from engine.apps.application import (
    Application,
    Destination,
    Override,
    Source,
    parse_application,
)
from engine.apps.catalog import AppCatalog, Origin, ParsedFile, build_catalog, carry_over
from engine.apps.loader import ParseCache, load_documents, parse_file
from engine.apps.project import (
    DEFAULT_PROJECT,
    AppProject,
    DestinationRule,
    KindRule,
    parse_project,
)
from engine.apps.selector import ClusterNames, LabelSelector, Requirement
from engine.apps.sources import AppFile, AppSource, file_from_bytes, read_dir_source
from engine.apps.syncpolicy import Automated, Retry, SyncFlags, SyncPolicy
from engine.apps.targets import (
    IN_CLUSTER_SERVER,
    AppTarget,
    ClusterInfo,
    TargetOptions,
    destination_clusters,
    expand_targets,
)
from engine.durations import parse_duration

__all__ = [
    "DEFAULT_PROJECT",
    "IN_CLUSTER_SERVER",
    "AppCatalog",
    "AppFile",
    "AppProject",
    "AppSource",
    "AppTarget",
    "Application",
    "Automated",
    "ClusterInfo",
    "ClusterNames",
    "Destination",
    "DestinationRule",
    "KindRule",
    "LabelSelector",
    "Origin",
    "Override",
    "ParseCache",
    "ParsedFile",
    "Requirement",
    "Retry",
    "Source",
    "SyncFlags",
    "SyncPolicy",
    "TargetOptions",
    "build_catalog",
    "carry_over",
    "destination_clusters",
    "expand_targets",
    "file_from_bytes",
    "load_documents",
    "parse_application",
    "parse_duration",
    "parse_file",
    "parse_project",
    "read_dir_source",
]
