"""``configurations``: field specs that teach the built-in transformers about more fields.

A configurations file is kustomize's ``TransformerConfig``: per transformer (namePrefix,
namespace, commonLabels, images, nameReference, varReference...) a list of field specs
merged with kustomize's defaults, so a prefix, a label or a renamed ConfigMap reaches a
field of a custom resource too. What a kustomization accumulates is inherited upwards: the
configurations of a base, a component or a ``crds`` file apply to the transformers of every
kustomization above it, and the name references and vars of the whole build use them all.

Merging is kustomize's, quirks included, because they decide which fields change: lists
are kept sorted by group/version/kind (kustomize's order, empty parts last), and a spec
is dropped when an earlier one has the same path and a kind it selects. So a custom
``{path: metadata/name, kind: Foo}`` for ``namePrefix`` comes before the default
``{path: metadata/name}`` and replaces it: only ``Foo`` objects get the prefix. Two specs
differing only in ``create`` are refused ("conflicting fieldspecs").

A ``TransformerConfig`` stores only the lists that differ from the defaults (the defaults
stay where they live: ``fieldspecs``, ``vardefaults``) and, for ``nameReference``, the back
references added to ``nameref``'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.render import fieldspecs as fs
from engine.render.errors import RenderError, SecurityError
from engine.render.fieldspecs import FieldSpec
from engine.render.loader import parse_documents
from engine.render.nameref import BACK_REFERENCES, BackReference
from engine.render.order import ORDER_FIRST, ORDER_LAST
from engine.render.resid import Gvk
from engine.render.vardefaults import VAR_REFERENCES

# The field-spec lists of a TransformerConfig, as spelled in configuration files.
SPEC_FIELDS = ("namePrefix", "nameSuffix", "namespace", "commonLabels", "labels",
               "templateLabels", "commonAnnotations", "varReference", "images", "replicas")
_FIELD_NAMES = {name.lower(): name for name in (*SPEC_FIELDS, "nameReference")}
_SPEC_KEYS = frozenset({"group", "version", "kind", "path", "create"})
_BACKREF_KEYS = frozenset({"group", "version", "kind", "fieldspecs"})
# Merging is quadratic in the specs of one list: a bound keeps a hostile file cheap.
MAX_SPECS = 5_000
_RANK = {kind: i - len(ORDER_FIRST) for i, kind in enumerate(ORDER_FIRST)}
_RANK.update({kind: i + 1 for i, kind in enumerate(ORDER_LAST)})


def _sort_key(spec: FieldSpec) -> tuple[int, str]:
    """kustomize's Gvk.IsLessThan: kind priority, then group_version_kind, "~" for empty."""
    text = "_".join((spec.group or "~G", spec.version or "~V", spec.kind or "~K"))
    return _RANK.get(spec.kind, 0), text


def _sorted(specs: Iterable[FieldSpec]) -> tuple[FieldSpec, ...]:
    return tuple(sorted(specs, key=_sort_key))


# kustomize's defaults, as declared (images are declared with ``create: true``).
DEFAULTS: Mapping[str, tuple[FieldSpec, ...]] = {
    "namePrefix": (FieldSpec("metadata/name"),),
    "nameSuffix": (FieldSpec("metadata/name"),),
    "namespace": (FieldSpec("metadata/name", kind="Namespace", create=True),
                  *fs.NAMESPACE_EXTRA),
    "commonLabels": fs.COMMON_LABELS,
    "labels": (),
    "templateLabels": fs.TEMPLATE_LABELS + fs.VOLUME_CLAIM_LABELS,
    "commonAnnotations": fs.COMMON_ANNOTATIONS,
    "varReference": VAR_REFERENCES,
    "images": tuple(FieldSpec(s.path, s.kind, s.group, s.version, create=True)
                    for s in fs.IMAGES),
    "replicas": fs.REPLICAS,
}
_DEFAULT_SETS = {name: frozenset(specs) for name, specs in DEFAULTS.items()}


@dataclass(frozen=True)
class TransformerConfig:
    """Field specs of the built-in transformers: the lists that differ from kustomize's
    defaults, and back references added to the default name references."""

    specs: Mapping[str, tuple[FieldSpec, ...]] = field(default_factory=dict)
    name_references: tuple[BackReference, ...] = ()
    empty: bool = False  # nothing accumulated yet (not even the defaults)

    def effective(self, name: str) -> tuple[FieldSpec, ...]:
        """Every spec of the transformer ``name`` (one of ``SPEC_FIELDS``)."""
        return self.specs.get(name, DEFAULTS[name])

    def added(self, name: str) -> tuple[FieldSpec, ...]:
        """The specs of ``name`` that are not defaults."""
        return tuple(s for s in self.specs.get(name, ()) if s not in _DEFAULT_SETS[name])

    def keeps_default(self, name: str, spec: FieldSpec) -> bool:
        """Whether the default ``spec`` of ``name`` is still in effect."""
        return name not in self.specs or spec in self.specs[name]

    def merged(self, other: TransformerConfig, where: str) -> TransformerConfig:
        """This config with ``other`` merged in, as kustomize merges an accumulated
        config with the next one (a RenderError naming ``where`` on a conflict)."""
        if other.empty:
            return self
        specs = {} if self.empty else dict(self.specs)
        for name in other.specs:
            existing = () if self.empty else self.effective(name)
            merged = _sorted(_merge_specs(existing, other.effective(name), f"{where}: {name}"))
            if frozenset(merged) == _DEFAULT_SETS[name]:
                specs.pop(name, None)
            else:
                specs[name] = merged
        refs = [] if self.empty else list(self.name_references)
        for backref in other.name_references:
            refs = _merge_backref(refs, backref, where)
        return TransformerConfig(specs, tuple(refs))


DEFAULT = TransformerConfig()
NOTHING = TransformerConfig(empty=True)


def with_defaults(added: Mapping[str, Iterable[FieldSpec]],
                  name_references: Iterable[BackReference], where: str) -> TransformerConfig:
    """The config of kustomize's defaults merged with ``added`` specs and back references
    (what one kustomization's ``configurations`` or ``crds`` declare)."""
    specs = {}
    for name, incoming in added.items():
        custom = _sorted(_merge_specs((), incoming, f"{where}: {name}"))
        merged = _sorted(_merge_specs(DEFAULTS[name], custom, f"{where}: {name}"))
        if frozenset(merged) != _DEFAULT_SETS[name]:
            specs[name] = merged
    refs: list[BackReference] = []
    for backref in name_references:
        refs = _merge_backref(refs, backref, where)
    return TransformerConfig(specs, tuple(refs))


def parse_config(text: str, source: str) -> TransformerConfig:
    """The config of one configurations file, merged with kustomize's defaults."""
    docs = parse_documents(text, source)
    value = docs[0].value if docs else {}
    if not isinstance(value, dict):
        raise RenderError(f"{source}: a transformer configuration must be a mapping")
    added: dict[str, list[FieldSpec]] = {}
    refs: list[BackReference] = []
    for key, entries in value.items():
        name = _FIELD_NAMES.get(str(key).lower())
        if name is None:
            raise RenderError(f"{source}: unknown field {key!r} in transformer configuration")
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise RenderError(f"{source}: {name} must be a list")
        if name == "nameReference":
            refs += [_backref(e, f"{source}: {name}") for e in entries]
        else:
            added.setdefault(name, []).extend(parse_spec(e, f"{source}: {name}")
                                              for e in entries)
    return with_defaults(added, refs, source)


def parse_spec(entry: Any, where: str, *, strict: bool = True) -> FieldSpec:
    """One field spec (``path`` with optional group/version/kind/create); unknown keys
    refused when ``strict`` (configurations files are read strictly, plugin configs not)."""
    if not isinstance(entry, dict):
        raise RenderError(f"{where}: a field spec must be a mapping")
    if not strict:
        entry = {k: v for k, v in entry.items() if str(k).lower() in _SPEC_KEYS}
    values = _lower_keys(entry, _SPEC_KEYS, where)
    for key in ("group", "version", "kind", "path"):
        if values.get(key) is not None and not isinstance(values[key], str):
            raise RenderError(f"{where}: field spec {key} must be a string")
    create = values.get("create") or False
    if not isinstance(create, bool):
        raise RenderError(f"{where}: field spec create must be true or false")
    return FieldSpec(values.get("path") or "", kind=values.get("kind") or "",
                     group=values.get("group") or "", version=values.get("version") or "",
                     create=create)


def _backref(entry: Any, where: str) -> BackReference:
    if not isinstance(entry, dict):
        raise RenderError(f"{where}: an entry must be a mapping")
    values = _lower_keys(entry, _BACKREF_KEYS, where)
    specs = values.get("fieldspecs") or []
    if not isinstance(specs, list):
        raise RenderError(f"{where}: fieldSpecs must be a list")
    target = Gvk(str(values.get("group") or ""), str(values.get("version") or ""),
                 str(values.get("kind") or ""))
    return BackReference(target, tuple(parse_spec(s, f"{where}: fieldSpecs") for s in specs))


def _lower_keys(entry: dict[Any, Any], known: frozenset[str], where: str) -> dict[str, Any]:
    """Keys matched as Go's JSON decoder matches them (case-insensitively); unknown refused."""
    values: dict[str, Any] = {}
    for key, value in entry.items():
        lowered = str(key).lower()
        if lowered not in known:
            raise RenderError(f"{where}: unknown field {key!r}")
        values[lowered] = value
    return values


def _covers(existing: FieldSpec, incoming: FieldSpec) -> bool:
    """kustomize's "effectively equals": same path, and ``incoming``'s gvk selects
    ``existing``'s."""
    return existing.path == incoming.path and Gvk(
        existing.group, existing.version, existing.kind).selected_by(
        Gvk(incoming.group, incoming.version, incoming.kind))


def _merge_specs(existing: Iterable[FieldSpec], incoming: Iterable[FieldSpec],
                 where: str) -> tuple[FieldSpec, ...]:
    """kustomize's FsSlice.MergeAll: ``incoming`` appended in order, except specs an
    existing one covers (refused if they differ in ``create``)."""
    result = list(existing)
    for spec in incoming:
        known = next((s for s in result if _covers(s, spec)), None)
        if known is None:
            if len(result) >= MAX_SPECS:
                raise SecurityError(f"{where}: more than {MAX_SPECS} field specs")
            result.append(spec)
        elif known.create != spec.create:
            raise RenderError(f"{where}: conflicting fieldspecs for path {spec.path!r}")
    return tuple(result)


def _merge_backref(refs: list[BackReference], incoming: BackReference,
                   where: str) -> list[BackReference]:
    """Add one back reference: its referrers join the default and earlier ones of the
    same target gvk; only those not covered are kept (as extras)."""
    defaults = tuple(s for b in BACK_REFERENCES if b.target == incoming.target
                     for s in b.referrers)
    index = next((i for i, r in enumerate(refs) if r.target == incoming.target), None)
    if index is None and len(refs) >= MAX_SPECS:
        raise SecurityError(f"{where}: more than {MAX_SPECS} name references")
    current = refs[index].referrers if index is not None else ()
    merged = _merge_specs((*defaults, *current), incoming.referrers,
                          f"{where}: nameReference")[len(defaults):]
    backref = BackReference(incoming.target, merged)
    if index is not None:
        return [*refs[:index], backref, *refs[index + 1:]]
    return [*refs, backref] if merged else refs
