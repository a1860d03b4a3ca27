"""Building a kustomization: the steps ``kustomize build`` takes, in its order.

For one kustomization: accumulate ``resources`` (files, and directories built
recursively), run the generators, fold in ``components``, then the transformers in
kustomize's fixed order (strategic-merge patches, patches, namespace, prefix/suffix,
labels, annotations, JSON6902 patches, replicas, images, replacements). Only at the
top: hash suffixes for generated objects, name-reference updates, legacy order.

A directory built as a resource is built once per render and copied when listed again
(a diamond of bases, or a fan-out that would otherwise take exponential time): its result
does not depend on who lists it. Listing it twice where kustomize would refuse (the same
ids twice) is still refused, by the list the copies are added to. Components are not
memoized: they transform what their parent accumulated. Every step counts against the
render's ``RenderBudget``.

Given ``shared`` (``SharedBuilds``), a directory built as a resource is also kept for the
other renders of the same commit tree (the apps of a repository share their bases): the
copy is used with the files its build read, which are added to this render's reads. Only
when nothing outside the directory changes its result: no ``buildMetadata`` at the top (origin
paths are relative to it) and no ``openapi`` schema chosen, before it or inside it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from engine.render import (
    customfields,
    generators,
    metadata,
    nameref,
    order,
    patches,
    plugins,
    transformers,
)
from engine.render import fieldspecs as fs
from engine.render import vars as variables
from engine.render.accumulator import Accumulator, configure
from engine.render.budget import RenderBudget
from engine.render.buildmetadata import ORIGIN, Tracking
from engine.render.configurations import TransformerConfig
from engine.render.errors import RenderError, SecurityError, UnsupportedFieldError
from engine.render.kustomization import Kustomization, find_file, load
from engine.render.loader import RepoReader, check_object_count, parse_documents
from engine.render.openapi import SchemaState
from engine.render.plain import read_objects
from engine.render.replacements import apply_replacements, expand_entries, loaded_replacements
from engine.render.resources import Resource, ResourceList
from engine.render.transformers import as_string_map, scalar_string

LOCAL_CONFIG = "config.kubernetes.io/local-config"
MAX_NESTING = 100


@dataclass(frozen=True)
class SharedBuild:
    """A directory built as a resource, kept for other renders of the same tree: its
    result (never changed: each use copies it), the root-relative files its build read,
    and whether that build made the build use kustomize's built-in schema."""

    result: Accumulator
    reads: frozenset[str]
    built_in_schema: bool


class SharedBuilds(Protocol):
    """Directories built by earlier renders, by real path (a tree's path names its commit)."""

    def get(self, directory: Path) -> SharedBuild | None:
        """The build of ``directory`` kept earlier, if any."""

    def put(self, directory: Path, built: SharedBuild) -> None:
        """Keep the build of ``directory`` for later renders."""

    def kinds(self) -> dict[str, int]:
        """What the paths of these trees are, as renders found (``RepoReader``)."""


class Builder:
    """Builds kustomizations below one repository root, within the reader's budget."""

    def __init__(self, reader: RepoReader, shared: SharedBuilds | None = None):
        self.reader = reader
        self.shared = shared
        self.budget: RenderBudget = reader.budget
        self._stack: list[Path] = []
        self._built: dict[Path, Accumulator] = {}  # directories built as resources
        self.tracking = Tracking(frozenset(), Path())  # the top's buildMetadata
        self.openapi = SchemaState()  # the build's openapi schema, once one is named

    def build_top(self, directory: Path) -> list[dict[str, Any]]:
        """The rendered objects of the kustomization in ``directory`` (a Component too:
        kustomize builds one directly, on an empty set of resources)."""
        # In a context of its own: the openapi schema a render selects ends with it.
        return contextvars.copy_context().run(self._build_top, directory)

    def _build_top(self, directory: Path) -> list[dict[str, Any]]:
        top = self._kustomization(directory)
        if top is not None:
            self.tracking = Tracking.of(top.list("buildMetadata"), directory, top.display)
        resources = self.build_directory(directory, component=bool(top and top.is_component))
        for res in resources:
            if res.needs_hash:
                suffix = generators.content_hash(res.obj)
                res.store_previous_id()
                res.name = f"{res.name}-{suffix}"
        nameref.check_role_binding_subjects(resources)
        nameref.fix_references(resources, step=self.budget.check)
        customfields.fix_references(resources, resources.config.name_references,
                                    step=self.budget.check)
        variables.resolve(resources, resources.variables,
                          variables.reference_specs(resources.config), step=self.budget.check)
        kept = [r for r in resources
                if transformers.scalar_string(r.annotations().get(LOCAL_CONFIG)) != "true"]
        sorting = order.sort_options(top.fields.get("sortOptions") if top else None,
                                     top.display if top else self.reader.display(directory))
        self.tracking.finish(kept)
        for res in kept:
            metadata.stringify_annotations(res.obj)
        return [r.obj for r in order.output_order(kept, sorting)]

    def _kustomization(self, directory: Path) -> Kustomization | None:
        file = find_file(self.reader, directory)
        return load(self.reader, directory, file) if file else None

    def build_directory(self, directory: Path, *, component: bool,
                        into: Accumulator | None = None) -> Accumulator:
        """Accumulate one kustomization directory (a component works on ``into``)."""
        real = self.reader.resolve(directory)
        self.budget.visit(self.reader.display(real))
        if real in self._stack:
            raise RenderError(f"{self.reader.display(real)}: cycle in kustomization references")
        if len(self._stack) >= MAX_NESTING:
            raise SecurityError(f"{self.reader.display(real)}: kustomizations nested deeper "
                                f"than {MAX_NESTING} levels")
        built = self._built.get(real)
        if built is not None and not component:
            self.budget.add_objects(len(built), self.reader.display(real))
            return built.copy()
        nested = bool(self._stack)
        sharing = nested and not component and self._may_share()
        if sharing and (found := self._shared(real)) is not None:
            return found
        schema_before = self.openapi.built_in_used
        with self.reader.recording() as reads:
            result = self._build_new(real, component=component, into=into)
        if nested and not component:  # the top directory cannot be listed again (a cycle)
            self._built[real] = result.copy()
            if sharing and self.shared is not None and self._may_share() and not schema_before:
                self.shared.put(real, SharedBuild(self._built[real], frozenset(reads),
                                                  self.openapi.built_in_used))
        return result

    def _may_share(self) -> bool:
        """Whether a directory's build is the same in any render of this tree now."""
        return self.shared is not None and not self.tracking.active and not self.openapi.decided

    def _shared(self, real: Path) -> Accumulator | None:
        """A copy of ``real`` as another render built it, its reads recorded as this
        render's; None when no render kept it."""
        assert self.shared is not None
        found = self.shared.get(real)
        if found is None:
            return None
        self.reader.record_all(found.reads)
        self.openapi.built_in_used |= found.built_in_schema
        self.budget.add_objects(len(found.result), self.reader.display(real))
        self._built[real] = found.result
        return found.result.copy()

    def _build_new(self, real: Path, *, component: bool,
                   into: Accumulator | None) -> Accumulator:
        """Load and accumulate the kustomization in ``real`` (not built before)."""
        kust = self._kustomization(real)
        if kust is None:
            raise RenderError(
                f"{self.reader.display(real)}: unable to find one of 'kustomization.yaml', "
                "'kustomization.yml' or 'Kustomization' in directory")
        if component and not kust.is_component:
            raise RenderError(f"{kust.display}: expected kind 'Component' for a component")
        if not component and kust.is_component:
            raise RenderError(f"{kust.display}: a Component may only be used in components")
        self.openapi.declare(kust.fields.get("openapi"), kust.display,
                             lambda path: self.read_ref(kust, "openapi", path))
        self._stack.append(real)
        try:
            return self._accumulate(kust, into if into is not None else Accumulator())
        finally:
            self._stack.pop()

    def _accumulate(self, kust: Kustomization, ra: Accumulator) -> Accumulator:
        add = ra.adder()  # nothing renames the resources already in ``ra`` during this loop
        for entry in kust.list("resources") + kust.list("bases"):
            self.budget.check(kust.display)
            self._add_resource(kust, scalar_string(entry), add, ra)
        configure(ra, kust, self.read_ref, step=self.budget.check)
        self._run_generators(kust, ra)
        self._run_plugins(kust, ra, "generators")
        for entry in kust.list("components"):
            ra = self.build_directory(self._directory_ref(kust, scalar_string(entry)),
                                      component=True, into=ra)
        self._run_transformers(kust, ra)
        configs = self._run_plugins(kust, ra, "transformers")
        self._run_plugins(kust, ra, "validators")
        self.tracking.transformed(ra, kust.file, kust.fields, configs)
        variables.declare(ra, ra.variables, variables.parse_vars(kust.list("vars"), kust.display),
                          kust.display, step=self.budget.check)
        check_object_count(len(ra), kust.display)
        return ra

    def _add_resource(self, kust: Kustomization, entry: str,
                      add: Callable[[Iterable[Resource]], None], ra: Accumulator) -> None:
        if "://" in entry or entry.startswith(("github.com/", "git@")):
            raise UnsupportedFieldError(
                f"{kust.display}: remote resource {entry!r} is not supported")
        path = kust.directory / entry
        if self._is_dir(kust, entry, "resources"):
            child = self.build_directory(path, component=False)
            ra.absorb(child, kust.display)
            add(child)
            return
        file = self.file_ref(kust, entry)
        source = self.reader.display(file)
        loaded = []
        for obj in read_objects(self.reader, file, source):
            _check_object(obj, source)
            loaded.append(Resource(obj, source=source))
        self.tracking.loaded(loaded, path)
        self.openapi.loaded(loaded)
        add(loaded)

    def _is_dir(self, kust: Kustomization, entry: str, field: str) -> bool:
        """Whether an entry names a directory; a refusal names the kustomization too."""
        try:
            return self.reader.is_dir(kust.directory / entry)
        except SecurityError as err:
            raise SecurityError(f"{kust.display}: {field} entry {entry!r}: {err}") from err

    def file_ref(self, kust: Kustomization, entry: str) -> Path:
        """A file named by a kustomization; refused outside the kustomization directory."""
        path = kust.directory / entry
        try:
            real = self.reader.resolve(path)
        except SecurityError as err:
            raise SecurityError(f"{kust.display}: file {entry!r}: {err}") from err
        if real != kust.directory and kust.directory not in real.parents:
            raise SecurityError(
                f"{kust.display}: security; file '{entry}' is not in or below "
                f"'{self.reader.display(kust.directory)}'")
        if not self.reader.is_real_file(real):
            raise RenderError(f"{kust.display}: '{entry}' is not a file or directory")
        return real

    def read_ref(self, kust: Kustomization, field: str, entry: str) -> tuple[str, str]:
        """(text, name for messages) of a file that ``field`` of a kustomization names:
        inside the kustomization's directory, never remote."""
        if "://" in entry:
            raise RenderError(f"{kust.display}: {field}: remote file {entry!r} is not "
                              "supported (renders have no network)")
        file = self.file_ref(kust, entry)
        return self.reader.read_text(file), self.reader.display(file)

    def _directory_ref(self, kust: Kustomization, entry: str) -> Path:
        if not self._is_dir(kust, entry, "components"):
            raise RenderError(f"{kust.display}: '{entry}' is not a directory")
        return kust.directory / entry

    def _run_plugins(self, kust: Kustomization, ra: Accumulator, field: str) -> list[Resource]:
        """Run the built-in plugins a ``generators``, ``transformers`` or ``validators``
        field configures; the configs, in order."""
        configs = self._plugin_configs(kust, field) if kust.list(field) else []
        ctx = plugins.Context(kust.display, lambda path: self.read_ref(kust, field, path),
                              self._data_source(kust), self.budget.check)
        for config in configs:
            if field == "generators":
                for made in plugins.generate(config, ctx):
                    self.budget.add_objects(1, kust.display)
                    self.tracking.generated_by(made, config)
                    _absorb(ra, made, kust.display)
            elif field == "transformers":
                plugins.transform(ra, config, ctx)
            else:
                plugins.validate(ra, config, ctx)
        return configs

    def _plugin_configs(self, kust: Kustomization, field: str) -> list[Resource]:
        """Plugin configs: inline YAML, files, or the output of kustomization directories."""
        configs = Accumulator()
        add = configs.adder()
        for entry in kust.list(field):
            self.budget.check(kust.display)
            text = scalar_string(entry)
            inline = plugins.inline_configs(text, f"{kust.display}: {field}")
            if inline is None:
                self._add_resource(kust, text, add, configs)
                continue
            loaded = []
            for obj in inline:
                _check_object(obj, f"{kust.display}: {field}")
                loaded.append(Resource(obj, source=kust.display))
            self.tracking.loaded(loaded, kust.file)
            add(loaded)
        return list(configs)

    def _data_source(self, kust: Kustomization) -> generators.DataSource:
        return generators.DataSource(
            kust.directory, lambda p: self.reader.read_bytes(self._inside(kust, p)), kust.display)

    def _run_generators(self, kust: Kustomization, ra: ResourceList) -> None:
        options = kust.fields.get("generatorOptions")
        source = self._data_source(kust)
        for field, kind in (("configMapGenerator", "ConfigMap"), ("secretGenerator", "Secret")):
            for args in kust.list(field):
                if not isinstance(args, dict):
                    raise RenderError(f"{kust.display}: {field} entries must be mappings")
                self.budget.add_objects(1, kust.display)
                generated = generators.generate(args, kind, options, source)
                self.tracking.generated(generated, kust.file, field)
                _absorb(ra, generated, kust.display)

    def _inside(self, kust: Kustomization, path: Path) -> Path:
        return self.file_ref(kust, str(path.relative_to(kust.directory))
                             if path.is_relative_to(kust.directory) else str(path))

    def _patch_text(self, kust: Kustomization, entry: dict[str, Any], field: str
                    ) -> patches.PatchText:
        patch, path = entry.get("patch"), entry.get("path")
        if patch and path:
            raise RenderError(f"{kust.display}: {field}: patch and path can't be set together")
        if patch:
            return patches.PatchText(str(patch).strip(), f"{kust.display}: {field} (inline)")
        if path:
            file = self.file_ref(kust, str(path))
            return patches.PatchText(self.reader.read_text(file), self.reader.display(file))
        raise RenderError(f"{kust.display}: {field}: must specify one of patch and path")

    def _run_transformers(self, kust: Kustomization, ra: Accumulator) -> None:
        if kust.list("patchesStrategicMerge") or kust.list("patches"):
            self.openapi.patched()
        for item in kust.list("patchesStrategicMerge"):
            self.budget.check(kust.display)
            text = scalar_string(item)
            if "\n" not in text.strip() and self.reader.is_file(kust.directory / text):
                file = self.file_ref(kust, text)
                patch = patches.PatchText(self.reader.read_text(file), self.reader.display(file))
            else:
                patch = patches.PatchText(text, f"{kust.display}: patchesStrategicMerge")
            patches.apply_patch_entry(ra, patch, None, {}, strategic_merge_field=True)
        for entry in kust.list("patches"):
            self.budget.check(kust.display)
            if not isinstance(entry, dict):
                raise RenderError(f"{kust.display}: patches entries must be mappings")
            patches.apply_patch_entry(ra, self._patch_text(kust, entry, "patches"),
                                      entry.get("target"), entry.get("options") or {})
        if kust.text("namespace"):
            customfields.set_namespace(ra, kust.text("namespace"), ra.config)
        if kust.text("namePrefix") or kust.text("nameSuffix"):
            customfields.prefix_suffix(ra, kust.text("namePrefix"), kust.text("nameSuffix"),
                                       ra.config)
            ra.check_unique("name prefix/suffix")
        self._labels(kust, ra)
        customfields.add_annotations(
            ra, as_string_map(kust.fields.get("commonAnnotations"), "commonAnnotations"),
            ra.config)
        for entry in kust.list("patchesJson6902"):
            self.budget.check(kust.display)
            if not isinstance(entry, dict) or not entry.get("target"):
                raise RenderError(f"{kust.display}: patchesJson6902 entries need a target")
            patches.apply_patch_entry(ra, self._patch_text(kust, entry, "patchesJson6902"),
                                      entry["target"], {})
        for replica in kust.list("replicas"):
            self.budget.check(kust.display)
            customfields.set_replicas(ra, replica, ra.config)
        for image in kust.list("images") + kust.list("imageTags"):
            self.budget.check(kust.display)
            customfields.set_images(ra, image, ra.config)
        if kust.list("replacements"):
            entries = expand_entries(kust.list("replacements"), kust.display,
                                     lambda path: self._replacements_file(kust, path))
            apply_replacements(ra, entries, step=self.budget.check)

    def _replacements_file(self, kust: Kustomization, path: str) -> list[Any]:
        text, source = self.read_ref(kust, "replacements", path)
        docs = parse_documents(text, source)
        return loaded_replacements(docs[0].value if docs else None, source)

    def _labels(self, kust: Kustomization, ra: Accumulator) -> None:
        common = as_string_map(kust.fields.get("commonLabels"), "commonLabels")
        for entry in kust.list("labels"):
            self.budget.check(kust.display)
            if not isinstance(entry, dict):
                raise RenderError(f"{kust.display}: labels entries must be mappings")
            pairs = as_string_map(entry.get("pairs"), "labels.pairs")
            clash = set(pairs) & set(common)
            if clash:
                raise RenderError(f"{kust.display}: label name '{sorted(clash)[0]}' exists in "
                                  "both commonLabels and labels")
            transformers.add_labels(ra, pairs, _label_specs(entry, kust.display, ra.config))
        transformers.add_labels(ra, common, ra.config.effective("commonLabels"))


def _label_specs(entry: dict[str, Any], display: str,
                 config: TransformerConfig) -> tuple[fs.FieldSpec, ...]:
    extra = tuple(
        fs.FieldSpec(str(s.get("path")), kind=str(s.get("kind") or ""),
                     group=str(s.get("group") or ""), version=str(s.get("version") or ""),
                     create=bool(s.get("create")))
        for s in entry.get("fields") or [] if isinstance(s, dict) and s.get("path"))
    extra += config.effective("labels")
    if entry.get("includeSelectors"):
        return extra + config.effective("commonLabels")
    specs = extra
    if entry.get("includeTemplates"):
        specs += config.effective("templateLabels")
    elif entry.get("includeVolumeClaimTemplates"):
        specs += fs.VOLUME_CLAIM_LABELS
    specs += (fs.FieldSpec("metadata/labels", create=True),)
    return specs


def _check_object(obj: dict[str, Any], source: str) -> None:
    if not obj.get("kind"):
        raise RenderError(f"{source}: missing kind in object")
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not (meta.get("name") or meta.get("generateName")):
        raise RenderError(f"{source}: missing metadata.name in object of kind {obj['kind']}")


def _absorb(ra: ResourceList, res: Resource, display: str) -> None:
    """Add a generated object, honouring its behavior (create, merge, replace)."""
    matches = ra.by_any_id(res.cur_id)
    if not matches:
        if res.behavior in ("merge", "replace"):
            raise RenderError(f"{display}: id {res.cur_id} does not exist; cannot merge or "
                              "replace")
        ra.append(res)
        return
    if len(matches) > 1:
        raise RenderError(f"{display}: found multiple objects that could accept {res.cur_id}")
    old = matches[0]
    if res.behavior == "create":
        raise RenderError(f"{display}: id {res.cur_id} exists; behavior must be merge or replace")
    meta = res.metadata
    meta["labels"] = {**old.labels(), **res.labels()}
    meta["annotations"] = {**old.annotations(), **res.annotations()}
    if res.behavior == "merge" and ORIGIN in old.annotations():  # kustomize keeps the first
        meta["annotations"][ORIGIN] = old.annotations()[ORIGIN]
    for key in ("labels", "annotations"):
        if not meta[key]:
            del meta[key]
    meta["name"] = old.name
    if old.namespace:
        meta["namespace"] = old.namespace
    else:
        meta.pop("namespace", None)
    if res.behavior == "merge":
        for key in ("data", "binaryData"):
            merged = {**(old.obj.get(key) or {}), **(res.obj.get(key) or {})}
            if merged:
                res.obj[key] = merged
    res.prev_ids, res.prefixes, res.suffixes = old.prev_ids, old.prefixes, old.suffixes
    res.needs_hash = res.needs_hash and old.needs_hash
    res.source = old.source
    index = ra.items.index(old)
    ra.items[index] = res
    if isinstance(ra, Accumulator):
        ra.variables.retarget(old, res)
