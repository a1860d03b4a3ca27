"""``crds``: OpenAPI definitions whose ``x-kubernetes-*`` extensions declare fields.

Each file is a map of type names to OpenAPI definitions (``{Schema: {properties: ...}}``),
as Go's openapi-gen writes them. Every definition that looks like a Kubernetes type (it
has ``kind``, ``apiVersion`` and ``metadata`` properties) is walked through its
properties and ``$ref``s, and its extensions become transformer field specs for objects
of that kind (the last dotted part of the type name):

- ``x-kubernetes-object-ref-api-version`` + ``x-kubernetes-object-ref-kind`` (and
  optionally ``x-kubernetes-object-ref-name-key``, default ``name``): the property holds
  a reference by name to an object of that version and kind (``nameReference``);
- ``x-kubernetes-annotation``: an annotations map (``commonAnnotations``);
- ``x-kubernetes-label-selector``: a label map (``commonLabels``);
- ``x-kubernetes-identity``: a name that takes the name prefix (``namePrefix``).

A ``$ref`` back to a type being walked is not followed (kustomize recurses until its stack
overflows); the walk checks the render's budget at each type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from engine.render.configurations import NOTHING, TransformerConfig
from engine.render.errors import RenderError, SecurityError
from engine.render.fieldspecs import FieldSpec
from engine.render.loader import parse_documents
from engine.render.nameref import BackReference
from engine.render.resid import Gvk

# $refs may form a DAG that is exponential to walk by path; one file gets this many steps.
MAX_WALK = 20_000
_MARKERS = (("x-kubernetes-annotation", "commonAnnotations"),
            ("x-kubernetes-label-selector", "commonLabels"),
            ("x-kubernetes-identity", "namePrefix"))


def parse_crds(text: str, source: str, step: Callable[[str], None]) -> TransformerConfig:
    """The TransformerConfig declared by one ``crds`` file."""
    docs = parse_documents(text, source)
    definitions = docs[0].value if docs else {}
    if not isinstance(definitions, dict):
        raise RenderError(f"{source}: unable to parse open API definition: expected a map "
                          "of type names to definitions")
    config = NOTHING
    steps = [0]  # shared by the walks of every type of the file
    for name in definitions:
        properties = _properties(definitions, name, source)
        if not all(key in properties for key in ("kind", "apiVersion", "metadata")):
            continue
        kind = str(name).split(".")[-1]
        found = _Walk(definitions, Gvk("", "", kind), source, step, steps)
        found.walk(str(name), [], ())
        config = config.merged(found.config(), source)
    return config


def _properties(definitions: dict[str, Any], name: str, source: str) -> dict[str, Any]:
    definition = definitions.get(name)
    if not isinstance(definition, dict):
        raise RenderError(f"{source}: definition {name!r} must be a mapping")
    schema = next((v for k, v in definition.items() if str(k).lower() == "schema"), None)
    properties = (schema or {}).get("properties") if isinstance(schema, dict) else None
    return properties if isinstance(properties, dict) else {}


class _Walk:
    """Collects the field specs of one Kubernetes type's definition."""

    def __init__(self, definitions: dict[str, Any], gvk: Gvk, source: str,
                 step: Callable[[str], None], steps: list[int]):
        self.definitions = definitions
        self.gvk = gvk
        self.source = source
        self.step = step
        self.specs: dict[str, list[FieldSpec]] = {}
        self.refs: list[BackReference] = []
        self.steps = steps

    def spec(self, path: list[str]) -> FieldSpec:
        return FieldSpec("/".join(path), kind=self.gvk.kind)

    def walk(self, type_name: str, path: list[str], seen: tuple[str, ...]) -> None:
        if type_name not in self.definitions or type_name in seen:
            return
        self.steps[0] += 1
        if self.steps[0] > MAX_WALK:
            raise SecurityError(f"{self.source}: walking the definitions takes more than "
                                f"{MAX_WALK} steps ($refs fanning out?)")
        self.step(self.source)
        for name, prop in _properties(self.definitions, type_name, self.source).items():
            if not isinstance(prop, dict):
                continue
            here = [*path, str(name)]
            for marker, field in _MARKERS:
                if isinstance(prop.get(marker), str):
                    self.specs.setdefault(field, []).append(self.spec(here))
            version, kind = prop.get("x-kubernetes-object-ref-api-version"), prop.get(
                "x-kubernetes-object-ref-kind")
            if isinstance(version, str) and isinstance(kind, str):
                key = prop.get("x-kubernetes-object-ref-name-key")
                key = key if isinstance(key, str) else "name"
                self.refs.append(BackReference(Gvk("", version, kind),
                                               (self.spec([*here, key]),)))
            ref = prop.get("$ref")
            if isinstance(ref, str) and ref:
                self.walk(ref, here, (*seen, type_name))

    def config(self) -> TransformerConfig:
        """The specs found, without kustomize's defaults (as kustomize loads CRDs)."""
        config = TransformerConfig({k: tuple(v) for k, v in self.specs.items()})
        for ref in self.refs:
            config = config.merged(TransformerConfig(name_references=(ref,)), self.source)
        return NOTHING.merged(config, self.source)
