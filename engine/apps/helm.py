"""An Application's ``source.helm``: Argo CD's fields for rendering a Helm chart (pure).

    source:
      repoURL: https://git.example/charts
      path: charts/web                  # a directory holding Chart.yaml
      helm:
        releaseName: web                # default: the Application's name
        valueFiles: [values-prod.yaml]  # relative to the chart directory, inside the repository
        values: |                       # inline YAML (a string) ...
          replicaCount: 2
        valuesObject: {replicaCount: 3} # ... or a mapping; it wins over values, as in Argo CD
        parameters:                     # --set (--set-string with forceString)
        - {name: image.tag, value: "1.2.3"}
        skipCrds: false                 # true: leave out the chart's crds/ directory
        ignoreMissingValueFiles: false

Helm applies them in that order: value files, inline values, parameters (a later one
wins). A value file is a path inside the repository (no URL, nothing outside it: the
render sees only the commit's tree), or ``$<ref>/<path>``: a file of the Application's
source with that ``ref`` (multiple sources, ``spec.sources``). ``version`` (``v3``) is
accepted; other fields (``fileParameters``, ``passCredentials``, ``apiVersions``,
``kubeVersion``, ``namespace``) are warned and ignored.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from engine.apps.fields import Fields

_FIELDS = {"releaseName", "valueFiles", "values", "valuesObject", "parameters", "skipCrds",
           "ignoreMissingValueFiles", "version"}  # fmt: skip
MAX_PARAMETERS = 1000


@dataclass(frozen=True)
class HelmParameter:
    """One ``--set`` (or ``--set-string``) of a chart value."""

    name: str
    value: str
    force_string: bool = False


@dataclass(frozen=True)
class HelmOptions:
    """How to render a chart: release name, value files, inline values, parameters."""

    release_name: str = ""
    value_files: tuple[str, ...] = ()
    values: str = ""  # inline values as YAML text
    parameters: tuple[HelmParameter, ...] = ()
    skip_crds: bool = False
    ignore_missing_value_files: bool = False

    def fingerprint(self) -> str:
        """A digest of every option: part of the render's cache key."""
        return hashlib.sha256(repr(self).encode()).hexdigest()[:16]


def parse_helm(raw: Mapping[str, Any], fields: Fields, path: str) -> HelmOptions | None:
    """``source.helm`` as options (None when absent); errors name the file and field."""
    if "helm" not in raw:
        return None
    helm = fields.mapping(raw, "helm", path)
    where = f"{path}.helm"
    fields.unsupported(helm, _FIELDS, where)
    version = fields.string(helm, "version", where)
    if version not in ("", "v3"):
        raise fields.error(f"{where}.version", "only v3 is supported")
    return HelmOptions(
        release_name=fields.string(helm, "releaseName", where),
        value_files=_value_files(helm, fields, where),
        values=_values(helm, fields, where),
        parameters=_parameters(helm, fields, where),
        skip_crds=fields.boolean(helm, "skipCrds", where, False),
        ignore_missing_value_files=fields.boolean(helm, "ignoreMissingValueFiles", where, False),
    )


def _value_files(helm: Mapping[str, Any], fields: Fields, where: str) -> tuple[str, ...]:
    path = f"{where}.valueFiles"
    return tuple(_value_file(name, fields, path)
                 for name in fields.strings(helm, "valueFiles", where))


def _value_file(name: str, fields: Fields, path: str) -> str:
    if name.startswith("$"):  # $ref/path: a file of the source with that ref
        ref, _, rest = name[1:].partition("/")
        clean = posixpath.normpath(rest) if rest else ""
        if not ref or not clean or clean.startswith(("../", "/")) or clean == "..":
            raise fields.error(path, f"{name!r}: must be $<ref>/<path in that source>")
        return f"${ref}/{clean}"
    if "://" in name:
        raise fields.error(path, f"{name!r}: value files are read from the repository only")
    if name.startswith("/") or "\\" in name or "\0" in name:
        raise fields.error(path, f"{name!r}: must be a relative path in the repository")
    return posixpath.normpath(name)


def _values(helm: Mapping[str, Any], fields: Fields, where: str) -> str:
    as_object = helm.get("valuesObject")
    if as_object is not None:
        if not isinstance(as_object, dict):
            raise fields.error(f"{where}.valuesObject", "must be a mapping")
        if "values" in helm:
            fields.warn(f"{where}.values", "is ignored because valuesObject is set (as in Argo CD)")
        return yaml.safe_dump(as_object, sort_keys=True)
    values = helm.get("values")
    if values is None:
        return ""
    if isinstance(values, dict):  # Argo CD takes a mapping here too
        return yaml.safe_dump(values, sort_keys=True)
    if not isinstance(values, str):
        raise fields.error(f"{where}.values", "must be a string of YAML or a mapping")
    try:
        parsed = yaml.safe_load(values)
    except yaml.YAMLError as err:
        raise fields.error(f"{where}.values", f"is not YAML: {err}") from None
    if parsed is not None and not isinstance(parsed, dict):
        raise fields.error(f"{where}.values", "must be a YAML mapping")
    return values


def _parameters(helm: Mapping[str, Any], fields: Fields,
                where: str) -> tuple[HelmParameter, ...]:  # fmt: skip
    found = []
    entries = fields.items(helm, "parameters", where)
    if len(entries) > MAX_PARAMETERS:
        raise fields.error(f"{where}.parameters", f"more than {MAX_PARAMETERS} entries")
    for index, entry in enumerate(entries):
        path = f"{where}.parameters[{index}]"
        if not isinstance(entry, dict):
            raise fields.error(path, "must be a mapping with name and value")
        fields.unsupported(entry, {"name", "value", "forceString"}, path)
        name = fields.required(entry, "name", path)
        if "=" in name or name.startswith("-"):
            raise fields.error(f"{path}.name", f"{name!r} is not a value name")
        value = entry.get("value", "")
        if isinstance(value, bool):
            value = "true" if value else "false"
        found.append(HelmParameter(name, str(value),
                                   fields.boolean(entry, "forceString", path, False)))
    return tuple(found)
