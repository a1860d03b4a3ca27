"""``openapi``: a schema telling strategic merge how the lists of custom kinds merge.

``openapi: {path: schema.json}`` names an OpenAPI (swagger 2) document, JSON or YAML, in
the kustomization's directory, such as ``kustomize openapi fetch`` writes. A kind is in it
when a definition carries ``x-kubernetes-group-version-kind``; a list field of that kind
merges by key when its schema says ``x-kubernetes-patch-strategy: merge`` (keys from
``x-kubernetes-list-map-keys``, else ``x-kubernetes-patch-merge-key``, else a list of
scalars merged as a set); any other list is replaced.

As in kustomize the schema is one for the whole build: the top kustomization's, else the
first kustomization reached (in the order kustomize reaches them) that names one, and it
applies to the patches run after that point. It *replaces* kustomize's built-in
Kubernetes schema: a built-in kind the file does not describe then merges without list
keys, unless the built-in schema was already in use by then (a strategic-merge patch, or
an object of a custom kind, earlier in the build), in which case kustomize keeps it too.
``version:`` may only name the built-in schema (v1.21.2), which is what the renderer's
tables follow; a remote ``path`` is refused (renders have no network).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from engine.render import merge
from engine.render.errors import RenderError, SecurityError
from engine.render.loader import parse_documents
from engine.render.resid import Gvk
from engine.render.resources import Resource

BUILT_IN_VERSION = "v1.21.2"
MAX_REF_CHAIN = 64


@dataclass(frozen=True)
class ListStrategy:
    """How a list merges: by ``keys`` (none: a set of scalars)."""

    keys: tuple[str, ...]


class Schema:
    """The definitions of one OpenAPI document, indexed by apiVersion and kind."""

    def __init__(self, document: dict[str, Any], source: str):
        definitions = document.get("definitions") or {}
        if not isinstance(definitions, dict):
            raise RenderError(f"{source}: openapi definitions must be a mapping")
        self.source = source
        self.definitions: dict[str, Any] = definitions
        self.kinds: dict[tuple[str, str], dict[str, Any]] = {}
        for definition in definitions.values():
            for gvk in _gvks(definition):
                self.kinds[gvk] = definition

    def kind(self, gvk: Gvk) -> KindSchema | None:
        """The schema of objects of ``gvk``, if the document describes them."""
        definition = self.kinds.get((gvk.api_version, gvk.kind))
        return KindSchema(self, definition) if definition is not None else None

    def resolve(self, node: Any) -> dict[str, Any] | None:
        """``node`` with ``$ref``s followed (None: not a schema, or unresolvable)."""
        for _ in range(MAX_REF_CHAIN):
            if not isinstance(node, dict):
                return None
            ref = node.get("$ref")
            if not isinstance(ref, str):
                return node
            node = self.definitions.get(ref.removeprefix("#/definitions/"))
        raise SecurityError(f"{self.source}: $ref chain longer than {MAX_REF_CHAIN}")


def _gvks(definition: Any) -> list[tuple[str, str]]:
    if not isinstance(definition, dict):
        return []
    found = []
    for ext in definition.get("x-kubernetes-group-version-kind") or []:
        if isinstance(ext, dict) and isinstance(ext.get("kind"), str):
            group, version = str(ext.get("group") or ""), str(ext.get("version") or "")
            found.append((f"{group}/{version}" if group else version, ext["kind"]))
    return found


@dataclass(frozen=True)
class KindSchema:
    """The schema of one kind: answers how the list at a field path merges."""

    schema: Schema
    root: dict[str, Any]

    def list_strategy(self, path: Iterable[str]) -> ListStrategy | None:
        """How the list at ``path`` merges; None: it is replaced."""
        node: dict[str, Any] | None = self.root
        for name in path:
            if node is not None and _is_array(node):
                node = self.schema.resolve(node.get("items"))
            node = self._field(node, name)
        if node is None:
            return None
        strategy = node.get("x-kubernetes-patch-strategy")
        if not isinstance(strategy, str) or "merge" not in strategy.split(","):
            return None
        keys = node.get("x-kubernetes-list-map-keys")
        if not isinstance(keys, list):
            key = node.get("x-kubernetes-patch-merge-key")
            keys = [key] if isinstance(key, str) else []
        return ListStrategy(tuple(str(k) for k in keys))

    def _field(self, node: dict[str, Any] | None, name: str) -> dict[str, Any] | None:
        if node is None:
            return None
        properties = node.get("properties")
        if isinstance(properties, dict) and name in properties:
            return self.schema.resolve(properties[name])
        return self.schema.resolve(node.get("additionalProperties"))


def _is_array(node: dict[str, Any]) -> bool:
    kind = node.get("type")
    return kind == "array" or kind == ["array"]


def parse_schema(text: str, source: str) -> Schema:
    """An OpenAPI document from JSON (kustomize's choice when it starts with ``{``) or
    YAML; JSON has no aliases, so a large schema is not bound by the YAML node budget."""
    if text.lstrip().startswith("{"):
        try:
            document = json.loads(text)
        except ValueError as err:
            raise RenderError(f"{source}: invalid openapi schema: {err}") from err
    else:
        docs = parse_documents(text, source)
        document = docs[0].value if docs else {}
    if not isinstance(document, dict):
        raise RenderError(f"{source}: an openapi schema must be a mapping")
    return Schema(document, source)


@dataclass(frozen=True)
class Selection:
    """The custom schema in effect (``merge.CUSTOM_SCHEMA``), and whether kustomize still
    uses its built-in one for the kinds the custom one does not describe."""

    schema: Schema
    keeps_built_in: bool


@dataclass
class SchemaState:
    """The first schema a build names wins; remembers whether the built-in was used."""

    decided: bool = False
    built_in_used: bool = False

    def declare(self, openapi: Any, where: str, read: Callable[[str], tuple[str, str]]) -> None:
        """A kustomization's ``openapi`` field, reached now (first one wins)."""
        if openapi is None:
            return
        if not isinstance(openapi, dict):
            raise RenderError(f"{where}: openapi must be a mapping")
        path, version = openapi.get("path"), openapi.get("version")
        if path and version:
            raise RenderError(f"{where}: builtin version and custom schema provided, "
                              "cannot use both")
        if self.decided:
            return
        if version and str(version) != BUILT_IN_VERSION:
            raise RenderError(f"{where}: openapi version {version!r}: the specified OpenAPI "
                              f"version is not built in (only {BUILT_IN_VERSION})")
        if version:
            self.decided = True  # the built-in schema, which the tables follow
        elif path:
            text, source = read(str(path))
            merge.CUSTOM_SCHEMA.set(Selection(parse_schema(text, source), self.built_in_used))
            self.decided = True

    def loaded(self, resources: Iterable[Resource]) -> None:
        """Objects were read: one of a custom kind makes kustomize load its built-in
        schema (to know the kind's scope) before any custom one is set."""
        if not self.decided and not self.built_in_used:
            self.built_in_used = any(not merge.is_builtin(r.gvk) for r in resources)

    def patched(self) -> None:
        """A strategic-merge patch ran with the built-in schema."""
        if not self.decided:
            self.built_in_used = True
