"""Applications, AppProjects and fleet targeting: parsed from YAML into frozen data (pure).

Argo CD's ``argoproj.io/v1alpha1`` documents are accepted as they are; fleetsync's
``fleetsync.io/v1alpha1`` Application adds ``spec.destination.clusterSelector`` and
``spec.overrides`` (see ``engine.apps.application``). Nothing here does I/O except
``load_documents``, which reads the files it is given. Usage::

    catalog = load_documents([Path("apps/")])
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
from engine.apps.fields import parse_duration
from engine.apps.loader import AppCatalog, load_documents, parse_texts
from engine.apps.project import (
    DEFAULT_PROJECT,
    AppProject,
    DestinationRule,
    KindRule,
    parse_project,
)
from engine.apps.selector import ClusterNames, LabelSelector, Requirement
from engine.apps.syncpolicy import Automated, Retry, SyncOptions, SyncPolicy
from engine.apps.targets import (
    IN_CLUSTER_SERVER,
    AppTarget,
    ClusterInfo,
    TargetOptions,
    destination_clusters,
    expand_targets,
)

__all__ = [
    "DEFAULT_PROJECT",
    "IN_CLUSTER_SERVER",
    "AppCatalog",
    "AppProject",
    "AppTarget",
    "Application",
    "Automated",
    "ClusterInfo",
    "ClusterNames",
    "Destination",
    "DestinationRule",
    "KindRule",
    "LabelSelector",
    "Override",
    "Requirement",
    "Retry",
    "Source",
    "SyncOptions",
    "SyncPolicy",
    "TargetOptions",
    "destination_clusters",
    "expand_targets",
    "load_documents",
    "parse_application",
    "parse_duration",
    "parse_project",
    "parse_texts",
]
