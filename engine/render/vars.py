"""``vars``: ``$(NAME)`` references replaced by a field of another resource.

kustomize's deprecated predecessor of ``replacements``, still common. A kustomization
declares a var (a name, an object reference by its *original* id and a field path);
the var is tied to the one resource of that kustomization that has (or had) that id.
Vars accumulate upwards like resources (the same name twice is an error, so a base with
vars cannot be listed twice). Only at the top, after hash suffixes and name references
are settled, each var takes the value of its field in its resource, and every
``$(NAME)`` at a ``varReference`` field (kustomize's list plus ``configurations``') is
replaced: a whole ``$(NAME)`` keeps the value's type, one inside a string is formatted
into it, ``$$`` escapes, and an unknown name stays as written.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from engine.render import fieldspecs as fs
from engine.render.configurations import TransformerConfig
from engine.render.errors import RenderError
from engine.render.fieldspecs import FieldSpec
from engine.render.paths import DEFAULT_FIELD_PATH, MISSING, lookup, split, split_indexes
from engine.render.resid import Gvk, ResId
from engine.render.resources import Resource, ResourceList
from engine.render.transformers import scalar_string

log = logging.getLogger(__name__)

_VAR_KEYS = frozenset({"name", "objref", "fieldref"})
_OBJREF_KEYS = frozenset({"apiversion", "group", "version", "kind", "name", "namespace"})


@dataclass(frozen=True)
class Var:
    """One declared var: its name, the original id of its object and a field path."""

    name: str
    objref: ResId
    field_path: str = DEFAULT_FIELD_PATH


class VarSet:
    """The vars accumulated so far, each with the resource it was tied to (if any)."""

    def __init__(self) -> None:
        self.vars: dict[str, Var] = {}
        self.targets: dict[str, Resource] = {}

    def __bool__(self) -> bool:
        return bool(self.vars)

    def add(self, var: Var, target: Resource | None, where: str) -> None:
        """Declare ``var``; a RenderError if its name is already declared."""
        if var.name in self.vars:
            raise RenderError(f"{where}: var '{var.name}' already encountered")
        self.vars[var.name] = var
        if target is not None:
            self.targets[var.name] = target

    def absorb(self, other: VarSet, where: str) -> None:
        """Add every var of ``other`` (the vars of a kustomization listed here)."""
        for name, var in other.vars.items():
            self.add(var, other.targets.get(name), where)

    def retarget(self, old: Resource, new: Resource) -> None:
        """Tie the vars of ``old`` to ``new`` (a generator merged into or replaced it)."""
        for name, target in self.targets.items():
            if target is old:
                self.targets[name] = new

    def copy(self, mapping: dict[int, Resource]) -> VarSet:
        """A copy whose targets follow ``mapping`` (old resource id -> its copy)."""
        result = VarSet()
        result.vars = dict(self.vars)
        result.targets = {n: mapping.get(id(r), r) for n, r in self.targets.items()}
        return result


def parse_vars(entries: list[Any], where: str) -> list[Var]:
    """The ``vars`` entries of a kustomization, validated."""
    result = []
    for number, entry in enumerate(entries):
        here = f"{where}: vars[{number}]"
        if not isinstance(entry, dict):
            raise RenderError(f"{here}: a var must be a mapping")
        values = _keys(entry, _VAR_KEYS, here)
        objref = _keys(values.get("objref") or {}, _OBJREF_KEYS, f"{here}.objref")
        fieldref = _keys(values.get("fieldref") or {}, frozenset({"fieldpath"}),
                         f"{here}.fieldref")
        result.append(Var(scalar_string(values.get("name")), _objref_id(objref),
                          scalar_string(fieldref.get("fieldpath")) or DEFAULT_FIELD_PATH))
    return result


def _keys(value: Any, known: frozenset[str], where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RenderError(f"{where}: must be a mapping")
    for key in value:
        if str(key).lower() not in known:
            raise RenderError(f"{where}: unknown field {key!r}")
    return {str(k).lower(): v for k, v in value.items()}


def _objref_id(objref: dict[str, Any]) -> ResId:
    group, version = scalar_string(objref.get("group")), scalar_string(objref.get("version"))
    api_version = scalar_string(objref.get("apiversion"))
    if api_version:
        parts = api_version.split("/")
        if len(parts) == 2:
            group, version = parts
        elif len(parts) == 1:
            version = parts[0]
    return ResId(Gvk(group, version, scalar_string(objref.get("kind"))),
                 scalar_string(objref.get("name")), scalar_string(objref.get("namespace")))


def declare(resources: ResourceList, variables: VarSet, declared: list[Var], where: str, *,
            step: Callable[[str], None] | None = None) -> None:
    """Tie each var of one kustomization to the resource it names, then add the vars
    (``step(where)`` before each: the render's budget)."""
    ties = []
    for var in declared:
        if step is not None:
            step(where)
        matched = [r for r in resources if any(_refers_to(var.objref, i) for i in r.all_ids())]
        if len(matched) > 1:
            raise RenderError(f"{where}: found {len(matched)} resId matches for var "
                              f"'{var.name}' (unable to disambiguate)")
        ties.append((var, matched[0] if matched else None))
    for var, target in ties:
        variables.add(var, target, where)


def _refers_to(objref: ResId, rid: ResId) -> bool:
    if objref.namespace or objref.gvk.cluster_scoped:
        return objref.same_as(rid)
    return objref.gvk == rid.gvk and objref.name == rid.name


def reference_specs(config: TransformerConfig) -> tuple[FieldSpec, ...]:
    """Where references are replaced: kustomize's ``varReference`` list, as configured."""
    return config.effective("varReference")


def resolve(resources: ResourceList, variables: VarSet, specs: tuple[FieldSpec, ...], *,
            step: Callable[[str], None]) -> None:
    """Replace every ``$(NAME)`` at ``specs`` by its var's value (at the top, last)."""
    if not variables:
        return
    present = {id(r) for r in resources}
    values: dict[str, Any] = {}
    for name in sorted(variables.vars):
        target = variables.targets.get(name)
        if target is None or id(target) not in present:
            raise RenderError(f"var '{name}' cannot be mapped to a field in the set of "
                              "known resources")
        path = split_indexes(split(variables.vars[name].field_path))
        value = lookup(target.obj, path, empty_is_missing=False)
        if value is MISSING:
            raise RenderError(f"field {variables.vars[name].field_path!r} specified in var "
                              f"'{name}' not found in {target.describe()}")
        values[name] = value
    used: set[str] = set()
    for res in resources:
        step(res.source or "vars")
        fs.apply_specs(res.obj, specs, _Substitution(values, used, res).visit)
    unused = sorted(set(values) - used)
    if unused:
        log.debug("well-defined vars that were never replaced: %s", ",".join(unused))


class _Substitution:
    """Replaces references in the field a var-reference spec reaches."""

    def __init__(self, values: dict[str, Any], used: set[str], res: Resource):
        self.values = values
        self.used = used
        self.res = res

    def visit(self, container: dict[str, Any], key: str) -> None:
        value = container.get(key)
        if isinstance(value, str):
            container[key] = self.expand(value)
        elif isinstance(value, dict):
            for name, item in value.items():
                if isinstance(item, str):
                    value[name] = self.expand(item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                if not isinstance(item, str):
                    raise RenderError(f"{self.res.describe()}: {key}: invalid value type "
                                      "expect a string")
                value[index] = self.expand(item)

    def mapped(self, name: str) -> Any:
        value = self.values.get(name)
        if name not in self.values or isinstance(value, dict | list) or value is None:
            return f"$({name})"
        self.used.add(name)
        return value

    def expand(self, text: str) -> Any:
        """``text`` with its references replaced (a whole reference keeps its type)."""
        out, cursor, checkpoint = [], 0, 0
        while cursor < len(text):
            if text[cursor] == "$" and cursor + 1 < len(text):
                out.append(text[checkpoint:cursor])
                rest = text[cursor + 1:]
                if rest[0] == "(" and ")" in rest:
                    name = rest[1:rest.index(")")]
                    mapped = self.mapped(name)
                    if text == f"$({name})":
                        return mapped
                    out.append(_format(mapped))
                    cursor += len(name) + 2
                else:
                    out.append("$" if rest[0] == "$" else "$" + rest[0])
                    cursor += 1
                checkpoint = cursor + 1
            cursor += 1
        return "".join(out) + text[checkpoint:]


def _format(value: Any) -> str:
    """A var's value inside a string, as Go's ``%v`` prints it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _go_float(value)
    return str(value)


def _go_float(value: float) -> str:
    """Go's ``%v`` of a float64: shortest digits, exponent form below 1e-4 and from 1e6."""
    if not math.isfinite(value):
        return "NaN" if value != value else ("+Inf" if value > 0 else "-Inf")
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    point = len(digits) + int(exponent) - 1
    if -4 <= point < 6:
        text = repr(value)
        return text[:-2] if text.endswith(".0") else text
    mantissa = "".join(map(str, digits))
    mantissa = mantissa[0] + (f".{mantissa[1:]}" if len(mantissa) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}e{'-' if point < 0 else '+'}{abs(point):02d}"
