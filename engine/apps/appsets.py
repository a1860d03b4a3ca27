"""Argo CD's ``ApplicationSet``: Applications generated from a template (pure).

    apiVersion: argoproj.io/v1alpha1
    kind: ApplicationSet
    metadata: {name: guestbook}
    spec:
      goTemplate: true                  # else fasttemplate: {{name}}, {{metadata.labels.env}}
      goTemplateOptions: ["missingkey=error"]
      generators:
      - list:
          elements: [{cluster: dev, url: https://dev.example:6443}]
      - clusters:                       # fleetsync's registered clusters (clusters.yaml)
          selector: {matchLabels: {env: prod}}
          values: {tier: gold}          # extra parameters, as .values.tier
      - matrix:                         # every pair of two generators' parameters
          generators: [{clusters: {}}, {list: {elements: [{app: web}, {app: api}]}}]
      template:
        metadata: {name: '{{.name}}-guestbook'}
        spec: {project: default, source: {...}, destination: {server: '{{.server}}', ...}}
      syncPolicy: {preserveResourcesOnDeletion: true}

The clusters generator gives each selected cluster's ``name``, ``nameNormalized``,
``server`` (the in-cluster address for the cluster ``https://kubernetes.default.svc`` means)
and ``metadata.labels``: clusters.yaml labels play the cluster Secret's labels. Each
generated document is an Argo CD Application, validated like one written by hand and
defined in the ApplicationSet's file: it appears and disappears as the generators change,
under the same deletion guard as an Application file removed by hand. With
``preserveResourcesOnDeletion`` the generated Applications carry no resources finalizer, so
removing one leaves its objects in the clusters. The git generators (``directories`` with
globs and ``exclude``; ``files`` of JSON or YAML, ``**`` across directories) read the
repository at ``revision`` from ``Listing``s the hub fetches (``wanted`` says which);
until one is read, the ApplicationSet's file keeps its last Applications. Not done:
``templatePatch``, ``strategy`` (RollingSync) and ``applicationsSync``; they are errors or
warnings naming the field. At most ``MAX_GENERATED`` Applications per ApplicationSet.
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from engine.apps.application import RESOURCES_FINALIZER
from engine.apps.fields import Fields
from engine.apps.selector import LabelSelector, parse_selector
from engine.apps.targets import IN_CLUSTER_SERVER, ClusterInfo
from engine.apps.templates import normalize, render
from engine.errors import ConfigError

MAX_GENERATED = 1000
MAX_ELEMENTS = 1000
_SPEC_FIELDS = {"generators", "template", "goTemplate", "goTemplateOptions", "syncPolicy",
                "preservedFields", "ignoreApplicationDifferences"}
_GENERATORS = ("list", "clusters", "git", "matrix")
MAX_LISTED = 2000  # paths of one repository a git generator considers
Params = dict[str, Any]


@dataclass(frozen=True)
class Generator:
    """One generator: ``list`` elements, a ``clusters`` selector, or a ``matrix`` of two."""

    kind: str
    elements: tuple[Params, ...] = ()
    selector: LabelSelector | None = None
    values: Mapping[str, Any] | None = None
    children: tuple[Generator, ...] = ()
    repo: tuple[str, str] = ("", "")  # git: (repoURL, revision)
    directories: tuple[tuple[str, bool], ...] = ()  # git: (glob, exclude)
    files: tuple[str, ...] = ()  # git: globs of JSON/YAML files


@dataclass(frozen=True)
class Listing:
    """A repository at one commit as git generators see it: every file's content."""

    sha: str
    files: Mapping[str, bytes]


@dataclass(frozen=True)
class ApplicationSet:
    """A validated ApplicationSet: its generators and the Application template."""

    name: str
    generators: tuple[Generator, ...]
    template: Mapping[str, Any]
    go_template: bool = False
    missing_key_error: bool = False
    preserve_on_deletion: bool = False
    source_file: str = ""
    warnings: tuple[str, ...] = ()


def parse_application_set(doc: Mapping[str, Any], *, source: str) -> ApplicationSet:
    """Validate one ApplicationSet document read from the file named ``source``."""
    meta = doc.get("metadata")
    name = str(meta.get("name") or "") if isinstance(meta, dict) else ""
    fields = Fields(source, f"ApplicationSet {name or '(unnamed)'}")
    if not name:
        raise fields.error("metadata.name", "is required")
    spec = fields.mapping(dict(doc), "spec", "")
    for unsupported in ("templatePatch", "strategy"):
        if unsupported in spec:
            raise fields.error(f"spec.{unsupported}", "is not supported yet")
    fields.unsupported(spec, _SPEC_FIELDS, "spec")
    template = fields.mapping(spec, "template", "spec")
    if not isinstance(template.get("spec"), dict):
        raise fields.error("spec.template.spec", "is required")
    options = fields.strings(spec, "goTemplateOptions", "spec")
    policy = fields.mapping(spec, "syncPolicy", "spec")
    fields.unsupported(policy, {"preserveResourcesOnDeletion"}, "spec.syncPolicy")
    generators = fields.items(spec, "generators", "spec")
    if not generators:
        raise fields.error("spec.generators", "needs at least one generator")
    return ApplicationSet(
        name=name,
        generators=_generators(generators, fields),
        template=template,
        go_template=fields.boolean(spec, "goTemplate", "spec", False),
        missing_key_error="missingkey=error" in options,
        preserve_on_deletion=fields.boolean(policy, "preserveResourcesOnDeletion",
                                            "spec.syncPolicy", False),
        source_file=source,
        warnings=tuple(fields.warnings),
    )


def _generators(raw: list[Any], fields: Fields) -> tuple[Generator, ...]:
    return tuple(_generator(g, fields, f"spec.generators[{i}]", nested=False)
                 for i, g in enumerate(raw))


def _generator(raw: Any, fields: Fields, path: str, *, nested: bool) -> Generator:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise fields.error(path, f"must name exactly one generator ({', '.join(_GENERATORS)})")
    kind, body = next(iter(raw.items()))
    if kind not in _GENERATORS:
        raise fields.error(f"{path}.{kind}", f"is not a supported generator "
                                              f"({', '.join(_GENERATORS)})")
    body = body if body is not None else {}
    if not isinstance(body, dict):
        raise fields.error(f"{path}.{kind}", "must be a mapping")
    where = f"{path}.{kind}"
    if kind == "list":
        fields.unsupported(body, {"elements"}, where)
        elements = fields.items(body, "elements", where)
        if len(elements) > MAX_ELEMENTS:
            raise fields.error(f"{where}.elements", f"more than {MAX_ELEMENTS} elements")
        for index, element in enumerate(elements):
            if not isinstance(element, dict):
                raise fields.error(f"{where}.elements[{index}]", "must be a mapping")
        return Generator("list", elements=tuple(dict(e) for e in elements))
    if kind == "clusters":
        fields.unsupported(body, {"selector", "values"}, where)
        selector = body.get("selector")
        return Generator("clusters", selector=None if not selector else parse_selector(
            selector, fields, f"{where}.selector"), values=fields.mapping(body, "values", where))
    if kind == "git":
        return _git(body, fields, where)
    if nested:
        raise fields.error(where, "a matrix inside a matrix is not supported")
    fields.unsupported(body, {"generators"}, where)
    children = fields.items(body, "generators", where)
    if len(children) != 2:
        raise fields.error(f"{where}.generators", "a matrix combines exactly two generators")
    return Generator("matrix", children=tuple(
        _generator(c, fields, f"{where}.generators[{i}]", nested=True)
        for i, c in enumerate(children)))


def _git(body: dict[str, Any], fields: Fields, where: str) -> Generator:
    fields.unsupported(body, {"repoURL", "revision", "directories", "files"}, where)
    repo = (fields.required(body, "repoURL", where), fields.string(body, "revision", where)
            or "HEAD")  # fmt: skip
    directories = []
    for index, item in enumerate(fields.items(body, "directories", where)):
        path = f"{where}.directories[{index}]"
        if not isinstance(item, dict):
            raise fields.error(path, "must be a mapping with path")
        fields.unsupported(item, {"path", "exclude"}, path)
        directories.append((fields.required(item, "path", path),
                            fields.boolean(item, "exclude", path, False)))
    files = []
    for index, item in enumerate(fields.items(body, "files", where)):
        path = f"{where}.files[{index}]"
        if not isinstance(item, dict):
            raise fields.error(path, "must be a mapping with path")
        fields.unsupported(item, {"path"}, path)
        files.append(fields.required(item, "path", path))
    if bool(directories) == bool(files):
        raise fields.error(where, "needs either directories or files")
    return Generator("git", repo=repo, directories=tuple(directories), files=tuple(files))


def wanted(appset: ApplicationSet) -> set[tuple[str, str]]:
    """The (repository, revision) pairs ``appset``'s git generators read."""
    found: set[tuple[str, str]] = set()
    for generator in appset.generators:
        for one in (generator, *generator.children):
            if one.kind == "git":
                found.add(one.repo)
    return found


def generate(appset: ApplicationSet, clusters: Sequence[ClusterInfo],
             listings: Mapping[tuple[str, str], Listing] | None = None) -> list[dict[str, Any]]:
    """The Application documents ``appset`` generates over the registered ``clusters`` and
    the repositories its git generators read (``listings``), in generator order
    (``ConfigError`` naming the ApplicationSet when one cannot be made)."""
    where = f"{appset.source_file}: ApplicationSet {appset.name}"
    documents = []
    for generator in appset.generators:
        for params in _params(generator, clusters, listings or {}, where):
            doc = render(dict(appset.template), params, go=appset.go_template,
                         missing_error=appset.missing_key_error, where=f"{where}: template")
            documents.append(_application(doc, appset))
            if len(documents) > MAX_GENERATED:
                raise ConfigError(f"{where}: generates more than {MAX_GENERATED} Applications")
    return documents


def _params(generator: Generator, clusters: Sequence[ClusterInfo],
            listings: Mapping[tuple[str, str], Listing], where: str) -> list[Params]:  # fmt: skip
    if generator.kind == "list":
        return [dict(e) for e in generator.elements]
    if generator.kind == "clusters":
        return [_cluster_params(c, generator.values) for c in clusters
                if generator.selector is None or generator.selector.matches(c.labels)]
    if generator.kind == "git":
        listing = listings.get(generator.repo)
        if listing is None:
            raise ConfigError(f"{where}: repository {generator.repo[0]} at "
                              f"{generator.repo[1]} not read yet")
        return _git_params(generator, listing, where)
    first, second = (_params(child, clusters, listings, where) for child in generator.children)
    if len(first) * len(second) > MAX_GENERATED:  # refused before it is built
        raise ConfigError(f"{where}: a matrix of {len(first)} by {len(second)} parameter sets "
                          f"generates more than {MAX_GENERATED} Applications")
    return [_merge(a, b) for a, b in itertools.product(first, second)]


def _git_params(generator: Generator, listing: Listing, where: str) -> list[Params]:
    """Argo CD's git generators: one parameter set per matching directory, or per matching
    JSON/YAML file (its keys, plus the path of its directory)."""
    paths = sorted(listing.files)[:MAX_LISTED]
    if generator.directories:
        directories = sorted({posixpath.dirname(p) for p in paths} - {""})
        every = sorted({"/".join(d.split("/")[:i + 1]) for d in directories
                        for i in range(d.count("/") + 1)})  # fmt: skip
        chosen = [d for d in every
                  if any(_glob(g, d) for g, exclude in generator.directories if not exclude)
                  and not any(_glob(g, d) for g, exclude in generator.directories if exclude)]
        return [{"path": _path_params(d)} for d in chosen]
    found = []
    for path in paths:
        if any(_glob(g, path, deep=True) for g in generator.files):
            try:
                content = yaml.safe_load(listing.files[path].decode("utf-8"))
            except (UnicodeDecodeError, yaml.YAMLError) as err:
                raise ConfigError(f"{where}: {path}: not JSON or YAML ({type(err).__name__})"
                                  ) from None
            if not isinstance(content, dict):
                raise ConfigError(f"{where}: {path}: must hold a mapping")
            params = dict(content)
            params["path"] = {**_path_params(posixpath.dirname(path)),
                              "filename": posixpath.basename(path)}
            found.append(params)
    return found


def _path_params(directory: str) -> Params:
    base = posixpath.basename(directory)
    return {"path": directory, "basename": base, "basenameNormalized": normalize(base),
            "segments": directory.split("/") if directory else []}


def _glob(pattern: str, path: str, *, deep: bool = False) -> bool:
    """Whether ``path`` matches ``pattern``: ``*`` within one path segment (Go's path.Match),
    ``**`` across segments (doublestar, for files)."""
    regex = ""
    index = 0
    while index < len(pattern):
        if deep and pattern.startswith("**/", index):
            regex, index = regex + "(?:.*/)?", index + 3
        elif deep and pattern.startswith("**", index):
            regex, index = regex + ".*", index + 2
        elif pattern[index] == "*":
            regex, index = regex + "[^/]*", index + 1
        elif pattern[index] == "?":
            regex, index = regex + "[^/]", index + 1
        else:
            regex, index = regex + re.escape(pattern[index]), index + 1
    return re.fullmatch(regex, path) is not None


def _cluster_params(cluster: ClusterInfo, values: Mapping[str, Any] | None) -> Params:
    server = cluster.server or (IN_CLUSTER_SERVER if cluster.is_default else "")
    params: Params = {"name": cluster.name, "nameNormalized": cluster.name, "server": server,
                      "metadata": {"labels": dict(cluster.labels), "annotations": {}}}
    if values:
        params["values"] = {str(k): v for k, v in values.items()}
    return params


def _merge(first: Params, second: Params) -> Params:
    merged = dict(first)
    for key, value in second.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _application(rendered: Mapping[str, Any], appset: ApplicationSet) -> dict[str, Any]:
    metadata = dict(rendered.get("metadata") or {})
    if appset.preserve_on_deletion:
        kept = [f for f in metadata.get("finalizers") or [] if f != RESOURCES_FINALIZER]
        metadata["finalizers"] = kept
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application",
            "metadata": metadata, "spec": rendered.get("spec")}
