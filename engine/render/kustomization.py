"""The kustomization file: finding it, reading it, and refusing what we do not support."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.render.errors import RenderError, UnsupportedFieldError
from engine.render.loader import RepoReader, parse_documents

FILE_NAMES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

SUPPORTED_FIELDS = frozenset({
    "apiVersion", "kind", "metadata", "resources", "bases", "components", "namePrefix",
    "nameSuffix", "namespace", "commonLabels", "labels", "commonAnnotations", "images",
    "imageTags", "replicas", "patches", "patchesStrategicMerge", "patchesJson6902",
    "configMapGenerator", "secretGenerator", "generatorOptions", "replacements",
    "sortOptions", "buildMetadata", "vars", "configurations", "crds", "openapi",
    "generators", "transformers", "validators",
})
# Fields of kustomize's schema that the native renderer does not implement.
KNOWN_UNSUPPORTED = frozenset({
    "helmCharts", "helmGlobals", "helmChartInflationGenerator",
})

_LIST_FIELDS = ("resources", "bases", "components", "labels", "images", "imageTags",
                "replicas", "patches", "patchesStrategicMerge", "patchesJson6902",
                "configMapGenerator", "secretGenerator", "replacements", "vars",
                "configurations", "crds", "buildMetadata", "generators", "transformers",
                "validators")
_MAP_FIELDS = ("commonLabels", "commonAnnotations", "generatorOptions", "metadata", "openapi")


@dataclass
class Kustomization:
    """A parsed and validated kustomization file."""

    directory: Path
    file: Path
    display: str
    fields: dict[str, Any]

    @property
    def is_component(self) -> bool:
        """Whether this is a ``kind: Component``."""
        return self.fields.get("kind") == "Component"

    def list(self, name: str) -> list[Any]:
        """A list field ("" or missing gives [])."""
        return list(self.fields.get(name) or [])

    def map(self, name: str) -> dict[str, Any]:
        """A mapping field (missing gives {})."""
        return dict(self.fields.get(name) or {})

    def text(self, name: str) -> str:
        """A string field (missing gives "")."""
        value = self.fields.get(name)
        return "" if value is None else str(value)


def find_file(reader: RepoReader, directory: Path) -> Path | None:
    """The kustomization file of ``directory``; a RenderError if there are several."""
    found = [directory / n for n in FILE_NAMES if reader.is_file(directory / n)]
    if len(found) > 1:
        raise RenderError(
            f"{reader.display(directory)}: found multiple kustomization files: "
            + ", ".join(p.name for p in found))
    return found[0] if found else None


def load(reader: RepoReader, directory: Path, file: Path) -> Kustomization:
    """Read and validate the kustomization in ``file``."""
    display = reader.display(file)
    docs = parse_documents(reader.read_text(file), display, yaml11=True)
    if not docs:
        raise RenderError(f"{display}: kustomization is empty")
    if len(docs) > 1:
        raise RenderError(f"{display}: a kustomization must be a single YAML document")
    fields = docs[0].value
    if not isinstance(fields, dict):
        raise RenderError(f"{display}: a kustomization must be a mapping")
    fields = _canonical_names(fields)
    _validate(fields, display)
    return Kustomization(directory, file, display, fields)


_CANONICAL = {name.lower(): name for name in SUPPORTED_FIELDS | KNOWN_UNSUPPORTED}


def _canonical_names(fields: dict[str, Any]) -> dict[str, Any]:
    """Field names as kustomize's JSON decoding matches them, case-insensitively:
    ``nameprefix`` is ``namePrefix`` (two spellings of one field: the last one wins)."""
    result: dict[str, Any] = {}
    for name, value in fields.items():
        result[_CANONICAL.get(str(name).lower(), name)] = value
    return result


def _validate(fields: dict[str, Any], display: str) -> None:
    for name in fields:
        if name in KNOWN_UNSUPPORTED:
            raise UnsupportedFieldError(
                f"{display}: field {name!r} is not supported by the native renderer")
        if name not in SUPPORTED_FIELDS:
            raise RenderError(f"{display}: invalid Kustomization: unknown field {name!r}")
    kind = fields.get("kind")
    if kind not in (None, "Kustomization", "Component"):
        raise RenderError(f"{display}: kind should be Kustomization or Component, not {kind!r}")
    api = fields.get("apiVersion")
    wanted = ("kustomize.config.k8s.io/v1alpha1" if kind == "Component"
              else "kustomize.config.k8s.io/v1beta1")
    if api is not None and api != wanted:
        raise RenderError(f"{display}: apiVersion for {kind or 'Kustomization'} should be "
                          f"{wanted}")
    for name in _LIST_FIELDS:
        if fields.get(name) is not None and not isinstance(fields[name], list):
            raise RenderError(f"{display}: field {name!r} must be a list")
    for name in _MAP_FIELDS:
        if fields.get(name) is not None and not isinstance(fields[name], dict):
            raise RenderError(f"{display}: field {name!r} must be a mapping")
    # sortOptions is checked where it is used: only the top kustomization's (order.py).
    _check_string_types(fields, display)


def _check_string_types(fields: dict[str, Any], display: str) -> None:
    """Refuse non-strings where kustomize's schema wants strings (``env: on`` is a bool)."""
    def strings(value: Any, where: str) -> None:
        if value is not None and not isinstance(value, str):
            kind = "bool" if isinstance(value, bool) else (
                "number" if isinstance(value, int | float) else type(value).__name__)
            raise RenderError(f"{display}: invalid Kustomization: cannot unmarshal {kind} "
                              f"into {where} of type string")

    def string_map(value: Any, where: str) -> None:
        for key, item in (value or {}).items() if isinstance(value, dict) else ():
            strings(item, f"{where}.{key}")

    for name in ("namePrefix", "nameSuffix", "namespace"):
        strings(fields.get(name), name)
    for name in ("resources", "bases", "components", "configurations", "crds", "generators",
                 "transformers", "validators"):
        for item in fields.get(name) or []:
            strings(item, name)
    string_map(fields.get("commonLabels"), "commonLabels")
    string_map(fields.get("commonAnnotations"), "commonAnnotations")
    string_map(fields.get("openapi"), "openapi")
    for entry in fields.get("labels") or []:
        if isinstance(entry, dict):
            string_map(entry.get("pairs"), "labels.pairs")
    options = fields.get("generatorOptions") or {}
    string_map(options.get("labels"), "generatorOptions.labels")
    string_map(options.get("annotations"), "generatorOptions.annotations")
    for name in ("configMapGenerator", "secretGenerator"):
        for entry in fields.get(name) or []:
            if not isinstance(entry, dict):
                continue
            for key in ("name", "namespace", "behavior", "type"):
                strings(entry.get(key), f"{name}.{key}")
            for key in ("literals", "files", "envs"):
                for item in entry.get(key) or []:
                    strings(item, f"{name}.{key}")
            local = entry.get("options") or {}
            string_map(local.get("labels"), f"{name}.options.labels")
            string_map(local.get("annotations"), f"{name}.options.annotations")
    for entry in (fields.get("images") or []) + (fields.get("imageTags") or []):
        if isinstance(entry, dict):
            for key in ("name", "newName", "newTag", "digest", "tagSuffix"):
                strings(entry.get(key), f"images.{key}")
