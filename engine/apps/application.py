"""The ``Application`` document: Argo CD's format as it is, and fleetsync's richer one (pure).

Argo CD's ``argoproj.io/v1alpha1`` Application is accepted unchanged. fleetsync's
``fleetsync.io/v1alpha1`` Application has the same fields plus two, for fleets::

    apiVersion: fleetsync.io/v1alpha1
    kind: Application
    metadata: {name: web}
    spec:
      project: default
      source: {repoURL: https://git.example/web, targetRevision: main, path: overlays/prod}
      destination:
        namespace: web
        clusterSelector:                 # instead of server / name: every matching cluster
          matchLabels: {env: prod}
          matchExpressions: [{key: region, operator: In, values: [eu, us]}]
      overrides:                         # applied in order; a later match wins per field
      - clusters: {matchLabels: {region: eu}}   # a label selector ...
        path: overlays/prod-eu
      - clusters: [edge-1, edge-2]              # ... or a list of cluster names
        targetRevision: v1.2.3
        namespace: web-edge

``destination`` names exactly one of ``server``, ``name`` or ``clusterSelector``; an empty
selector (``{}``) selects every cluster. The two extensions in an ``argoproj.io`` document
are an error (Argo CD would drop them and deploy something else). Fields fleetsync does not
act on are kept out of the model and reported in ``Application.warnings``; ``status`` and
object metadata other than name, namespace, labels, annotations and finalizers are
runtime data and are skipped. The identity of an Application is its name alone.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from engine.apps.fields import Fields
from engine.apps.helm import HelmOptions, parse_helm
from engine.apps.rollout import Rollout, parse_rollout, rollout_problem
from engine.apps.selector import ClusterNames, LabelSelector, parse_clusters, parse_selector
from engine.apps.syncpolicy import SyncPolicy, parse_sync_policy
from engine.diff.ignore import IgnoreRule
from engine.errors import ConfigError
from engine.render.jsonnet import MAX_VARIABLES as MAX_JSONNET_VARIABLES
from engine.render.jsonnet import JsonnetOptions, JsonnetVariable

ARGO_API_VERSION = "argoproj.io/v1alpha1"
FLEETSYNC_API_VERSION = "fleetsync.io/v1alpha1"
API_VERSIONS = (ARGO_API_VERSION, FLEETSYNC_API_VERSION)
DEFAULT_PROJECT = "default"
DEFAULT_REVISION_HISTORY_LIMIT = 10
RESOURCES_FINALIZER = "resources-finalizer.argocd.argoproj.io"
# Names end up in tracking ids and labels: a DNS label-like subset, as Argo CD requires.
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
MAX_SOURCES = 10
_CHART = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")  # a directory name in an archive
_SPEC_FIELDS = {
    "source",
    "sources",
    "destination",
    "project",
    "syncPolicy",
    "ignoreDifferences",
    "info",
    "revisionHistoryLimit",
}
_SOURCE_FIELDS = {"repoURL", "path", "targetRevision", "directory"}
_OVERRIDE_FIELDS = {"clusters", "path", "targetRevision", "namespace"}


@dataclass(frozen=True)
class Source:
    """Where the manifests are: a Git repository, a revision and a directory in it."""

    repo_url: str
    target_revision: str = "HEAD"
    path: str = ""
    recurse: bool = False
    jsonnet: JsonnetOptions | None = None  # directory.jsonnet: how .jsonnet files evaluate
    helm: HelmOptions | None = None  # source.helm: the path is a chart rendered with these
    chart: str = ""  # a chart of the Helm repository at repo_url (target_revision: version)
    ref: str = ""  # multiple sources: the name other sources' $name/... value files use

    @property
    def renders(self) -> bool:
        """Whether the source is rendered: a chart, a path, or anything but a bare ref
        (a source with only ``ref`` provides value files, as in Argo CD)."""
        return bool(self.chart or self.path or not self.ref)


@dataclass(frozen=True)
class Destination:
    """Where they go: one cluster by ``server`` or ``name``, or all selected clusters."""

    namespace: str = ""
    server: str = ""
    name: str = ""
    cluster_selector: LabelSelector | None = None


@dataclass(frozen=True)
class Override:
    """Per-cluster changes of path, revision or namespace (fleetsync extension)."""

    clusters: LabelSelector | ClusterNames
    path: str | None = None
    target_revision: str | None = None
    namespace: str | None = None


@dataclass(frozen=True)
class Application:
    """One parsed Application; ``warnings`` lists what was ignored and why."""

    name: str
    source: Source  # the first source rendered (with several: the one shown and polled)
    destination: Destination
    sources: tuple[Source, ...] = ()  # spec.sources when it has more than one
    project: str = DEFAULT_PROJECT
    namespace: str = ""
    sync_policy: SyncPolicy = field(default_factory=SyncPolicy)
    ignore_differences: tuple[Mapping[str, Any], ...] = ()
    overrides: tuple[Override, ...] = ()
    rollout: Rollout | None = None  # spec.strategy.rollout (fleetsync extension)
    info: tuple[tuple[str, str], ...] = ()
    revision_history_limit: int = DEFAULT_REVISION_HISTORY_LIMIT
    finalizers: tuple[str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    api_version: str = ARGO_API_VERSION
    source_file: str = ""
    warnings: tuple[str, ...] = ()


def cascade_propagation(finalizers: tuple[str, ...]) -> str | None:
    """How deleting the Application deletes its objects, from Argo CD's resources
    finalizer: ``Foreground`` (the plain finalizer, or ``/foreground``), ``Background``
    (``/background``); None without it: the objects are left."""
    for name in finalizers:
        if name == RESOURCES_FINALIZER or name == f"{RESOURCES_FINALIZER}/foreground":
            return "Foreground"
        if name == f"{RESOURCES_FINALIZER}/background":
            return "Background"
    return None


def is_valid_name(name: str) -> bool:
    """Whether ``name`` may name an Application or AppProject (a DNS-like subset)."""
    return _NAME.fullmatch(name) is not None


def document_name(doc: Mapping[str, Any], source: str, kind: str) -> str:
    """``metadata.name`` of a document, validated (ConfigError naming file and kind)."""
    meta = doc.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    if not isinstance(name, str) or not name:
        raise Fields(source, kind).error("metadata.name", "is required")
    if not is_valid_name(name):
        raise Fields(source, f"{kind} {name[:80]!r}").error(
            "metadata.name", "must be lower-case letters, digits, '-' and '.'"
        )
    return name


def parse_application(doc: Mapping[str, Any], *, source: str) -> Application:
    """Validate one ``kind: Application`` document read from the file named ``source``."""
    name = document_name(doc, source, "Application")
    fields = Fields(source, f"Application {name}")
    api_version = str(doc.get("apiVersion"))
    if api_version not in API_VERSIONS:
        raise fields.error("apiVersion", f"must be one of {', '.join(API_VERSIONS)}")
    fleet = api_version == FLEETSYNC_API_VERSION
    meta = fields.mapping(doc, "metadata", "")
    spec = fields.mapping(doc, "spec", "")
    if "operation" in doc:
        fields.warn("operation", "is not supported (use fleetsync app sync); ignored")
    for extension in ("overrides", "strategy"):
        if extension in spec and not fleet:
            raise fields.error(f"spec.{extension}", f"needs apiVersion {FLEETSYNC_API_VERSION}")
    fields.unsupported(spec, _SPEC_FIELDS | {"overrides", "strategy"}, "spec")
    app = Application(
        name=name,
        namespace=fields.string(meta, "namespace", "metadata"),
        project=fields.string(spec, "project", "spec") or DEFAULT_PROJECT,
        source=_primary(sources := _sources(spec, fields)),
        sources=sources if len(sources) > 1 else (),
        destination=_destination(spec, fields, fleet=fleet),
        sync_policy=parse_sync_policy(fields.mapping(spec, "syncPolicy", "spec"), fields),
        ignore_differences=_ignore_differences(spec, fields),
        overrides=_overrides(spec, fields) if fleet else (),
        rollout=_rollout(spec, fields) if fleet else None,
        info=_info(spec, fields),
        revision_history_limit=_history_limit(spec, fields),
        finalizers=fields.strings(meta, "finalizers", "metadata"),
        labels=_string_map(meta, "labels", fields),
        annotations=_string_map(meta, "annotations", fields),
        api_version=api_version,
        source_file=source,
    )
    if app.rollout is not None:
        problem = rollout_problem(
            selector=app.destination.cluster_selector is not None,
            automated=app.sync_policy.automated is not None, sources=app.sources,
            chart=app.source.chart,
            revision_overrides=any(o.target_revision for o in app.overrides))
        if problem:
            raise fields.error("spec.strategy.rollout", problem)
    return replace(app, warnings=tuple(fields.warnings))


def _rollout(spec: Mapping[str, Any], fields: Fields) -> Rollout | None:
    """``spec.strategy.rollout`` (``strategy`` holds nothing else), or None."""
    strategy = fields.mapping(spec, "strategy", "spec")
    fields.unsupported(strategy, {"rollout"}, "spec.strategy")
    if "rollout" not in strategy:
        return None
    return parse_rollout(strategy["rollout"], fields, "spec.strategy.rollout")


def _sources(spec: Mapping[str, Any], fields: Fields) -> tuple[Source, ...]:
    """``spec.source``, or every entry of ``spec.sources`` (their refs checked)."""
    given = _the_sources(spec, fields)
    found = tuple(_source(raw, path, fields) for raw, path in given)
    refs = [s.ref for s in found if s.ref]
    if len(refs) != len(set(refs)):
        raise fields.error("spec.sources", "two sources have the same ref")
    for source, (_raw, path) in zip(found, given, strict=True):
        for name in source.helm.value_files if source.helm else ():
            ref = name[1:].partition("/")[0] if name.startswith("$") else None
            if ref is not None and ref not in refs:
                raise fields.error(f"{path}.helm.valueFiles",
                                   f"{name!r}: no source has ref {ref!r}")
    if not any(s.renders for s in found):
        raise fields.error("spec.sources", "no source is rendered (each has only a ref)")
    return found


def _primary(sources: tuple[Source, ...]) -> Source:
    """The source the app is shown and polled by: the first one rendered."""
    return next(s for s in sources if s.renders)


def _source(raw: dict[str, Any], path: str, fields: Fields) -> Source:
    fields.unsupported(raw, _SOURCE_FIELDS | {"chart", "helm", "ref"}, path)
    ref = fields.string(raw, "ref", path)
    if ref and not re.match(r"^[a-z0-9][a-z0-9-]{0,62}$", ref):
        raise fields.error(f"{path}.ref", f"{ref!r} is not a ref name (a-z, 0-9, -)")
    chart = fields.string(raw, "chart", path)
    if chart and not _CHART.match(chart):
        raise fields.error(f"{path}.chart", f"{chart!r} is not a chart name")
    if chart and not fields.string(raw, "repoURL", path).startswith(("https://", "http://")):
        raise fields.error(f"{path}.repoURL", "a chart's repository must be an http(s) URL "
                                              "(OCI registries are not supported yet)")
    directory = fields.mapping(raw, "directory", path)
    fields.unsupported(directory, {"recurse", "jsonnet"}, f"{path}.directory")
    return Source(
        repo_url=fields.required(raw, "repoURL", path),
        target_revision=fields.string(raw, "targetRevision", path) or "HEAD",
        path=fields.string(raw, "path", path).strip("/") or "",
        recurse=fields.boolean(directory, "recurse", f"{path}.directory", False),
        jsonnet=_jsonnet(directory, fields, f"{path}.directory.jsonnet"),
        helm=parse_helm(raw, fields, path),
        chart=chart,
        ref=ref,
    )


def _jsonnet(directory: Mapping[str, Any], fields: Fields, path: str) -> JsonnetOptions | None:
    """``directory.jsonnet``: ``extVars``, ``tlas`` and ``libs`` (repository-relative)."""
    if directory.get("jsonnet") is None:
        return None
    raw = fields.mapping(directory, "jsonnet", path.rpartition(".")[0])
    fields.unsupported(raw, {"extVars", "tlas", "libs"}, path)
    libs = fields.strings(raw, "libs", path)
    for index, lib in enumerate(libs):
        normal = posixpath.normpath(lib)
        if not lib or lib.startswith("/") or normal == ".." or normal.startswith("../"):
            raise fields.error(f"{path}.libs[{index}]", "must be a directory of the repository")
    return JsonnetOptions(ext_vars=_jsonnet_variables(raw, "extVars", fields, path),
                          tlas=_jsonnet_variables(raw, "tlas", fields, path), libs=libs)


def _jsonnet_variables(raw: Mapping[str, Any], key: str, fields: Fields,
                       path: str) -> tuple[JsonnetVariable, ...]:  # fmt: skip
    entries = fields.items(raw, key, path)
    if len(entries) > MAX_JSONNET_VARIABLES:
        raise fields.error(f"{path}.{key}", f"more than {MAX_JSONNET_VARIABLES} entries")
    found = []
    for index, entry in enumerate(entries):
        where = f"{path}.{key}[{index}]"
        if not isinstance(entry, dict):
            raise fields.error(where, "must be a mapping of name, value and code")
        fields.unsupported(entry, {"name", "value", "code"}, where)
        found.append(JsonnetVariable(fields.required(entry, "name", where),
                                     fields.string(entry, "value", where),
                                     fields.boolean(entry, "code", where, False)))
    return tuple(found)


def _the_sources(spec: Mapping[str, Any], fields: Fields) -> list[tuple[dict[str, Any], str]]:
    """``spec.source``, or the entries of ``spec.sources`` (at most ``MAX_SOURCES``)."""
    sources = fields.items(spec, "sources", "spec")
    if len(sources) > MAX_SOURCES:
        raise fields.error("spec.sources", f"more than {MAX_SOURCES} sources")
    if sources:
        if "source" in spec:
            fields.warn("spec.source", "is ignored because spec.sources is set (as in Argo CD)")
        for index, raw in enumerate(sources):
            if not isinstance(raw, dict):
                raise fields.error(f"spec.sources[{index}]", "must be a mapping")
        return [(raw, f"spec.sources[{i}]") for i, raw in enumerate(sources)]
    if "source" not in spec:
        raise fields.error("spec.source", "is required")
    return [(fields.mapping(spec, "source", "spec"), "spec.source")]


def _destination(spec: Mapping[str, Any], fields: Fields, *, fleet: bool) -> Destination:
    path = "spec.destination"
    raw = fields.mapping(spec, "destination", "spec")
    allowed = {"server", "name", "namespace"} | ({"clusterSelector"} if fleet else set())
    extra = set(raw) - allowed
    if extra & {"clusterSelector"}:
        raise fields.error(f"{path}.clusterSelector", f"needs apiVersion {FLEETSYNC_API_VERSION}")
    fields.unsupported(raw, allowed, path)
    selector = raw.get("clusterSelector")
    dest = Destination(
        namespace=fields.string(raw, "namespace", path),
        server=fields.string(raw, "server", path).rstrip("/"),
        name=fields.string(raw, "name", path),
        cluster_selector=None
        if selector is None
        else parse_selector(selector, fields, f"{path}.clusterSelector"),
    )
    chosen = [
        f
        for f, v in (
            ("server", dest.server),
            ("name", dest.name),
            ("clusterSelector", selector is not None),
        )
        if v
    ]
    if len(chosen) != 1:
        ways = "server, name or clusterSelector" if fleet else "server or name"
        raise fields.error(path, f"must name exactly one of {ways}")
    return dest


def _overrides(spec: Mapping[str, Any], fields: Fields) -> tuple[Override, ...]:
    result = []
    for index, raw in enumerate(fields.items(spec, "overrides", "spec")):
        path = f"spec.overrides[{index}]"
        if not isinstance(raw, dict):
            raise fields.error(path, "must be a mapping")
        extra = sorted(set(raw) - _OVERRIDE_FIELDS)
        if extra:
            raise fields.error(
                f"{path}.{extra[0]}",
                f"is not an override field ({', '.join(sorted(_OVERRIDE_FIELDS))})",
            )
        if "clusters" not in raw:
            raise fields.error(f"{path}.clusters", "is required")
        result.append(
            Override(
                clusters=parse_clusters(raw["clusters"], fields, f"{path}.clusters"),
                path=_optional(raw, "path", fields, path),
                target_revision=_optional(raw, "targetRevision", fields, path),
                namespace=_optional(raw, "namespace", fields, path),
            )
        )
    return tuple(result)


def _optional(raw: Mapping[str, Any], key: str, fields: Fields, path: str) -> str | None:
    return fields.string(raw, key, path) if key in raw else None


def _ignore_differences(spec: Mapping[str, Any], fields: Fields) -> tuple[dict[str, Any], ...]:
    rules = fields.items(spec, "ignoreDifferences", "spec")
    for index, rule in enumerate(rules):
        path = f"spec.ignoreDifferences[{index}]"
        if not isinstance(rule, dict):
            raise fields.error(path, "must be a mapping")
        fields.required(rule, "kind", path)
        try:  # checked here, so a bad rule names its file when loaded, not at each sync
            IgnoreRule.from_argo(dict(rule))
        except ConfigError as err:
            raise fields.error(path, str(err)) from None
    return tuple(rules)


def _info(spec: Mapping[str, Any], fields: Fields) -> tuple[tuple[str, str], ...]:
    pairs = []
    for index, item in enumerate(fields.items(spec, "info", "spec")):
        path = f"spec.info[{index}]"
        if not isinstance(item, dict):
            raise fields.error(path, "must be a mapping with name and value")
        pairs.append((fields.required(item, "name", path), fields.string(item, "value", path)))
    return tuple(pairs)


def _history_limit(spec: Mapping[str, Any], fields: Fields) -> int:
    limit = fields.integer(spec, "revisionHistoryLimit", "spec")
    if limit is not None and limit < 0:
        raise fields.error("spec.revisionHistoryLimit", "must not be negative")
    return DEFAULT_REVISION_HISTORY_LIMIT if limit is None else limit


def _string_map(meta: Mapping[str, Any], key: str, fields: Fields) -> dict[str, str]:
    raw = fields.mapping(meta, key, "metadata")
    for name, value in raw.items():
        if not isinstance(value, str):
            raise fields.error(f"metadata.{key}.{name}", "must be a string")
    return {str(k): v for k, v in raw.items()}
