"""Label and annotation maps as kustomize writes them: values are strings.

kustomize rewrites every object's ``metadata.annotations`` from a Go ``map[string]string``
at the end of a build, so each value comes out as the text it was written with
(``port: 8080`` gives ``"8080"``, ``v: 1.10`` gives ``"1.10"``, a null gives ``"null"`` or
``""`` as written, a list or a map gives ``""``); an empty map is dropped. The labels and
annotations of a strategic-merge patch applied through ``patchesStrategicMerge`` or with a
``target`` go through the same kind of map. Two steps do that here: ``string_values``
rewrites such maps in the parsed YAML nodes, before construction, so the original text
is kept; ``stringify_annotations`` converts what transformers put there later (a JSON
6902 ``move``, a replacement), as Go's JSON round trip would print it.
"""

from __future__ import annotations

import decimal
from typing import Any

import yaml

_STR = "tag:yaml.org,2002:str"


def string_values(document: yaml.Node, fields: tuple[str, ...]) -> None:
    """Make the values of ``metadata.<field>`` (each of ``fields``) string nodes holding
    their original text, in the object ``document`` and in the items of a ``kind: *List``.

    New nodes replace the old ones, so a value shared through an alias elsewhere keeps
    its type there.
    """
    if not fields or not isinstance(document, yaml.MappingNode):
        return
    _object(document, fields)
    kind = _get(document, "kind")
    items = _get(document, "items")
    if (isinstance(kind, yaml.ScalarNode) and str(kind.value).endswith("List")
            and isinstance(items, yaml.SequenceNode)):
        for item in items.value:
            if isinstance(item, yaml.MappingNode):
                _object(item, fields)


def _get(mapping: yaml.MappingNode, key: str) -> yaml.Node | None:
    for k, v in mapping.value:
        if isinstance(k, yaml.ScalarNode) and k.value == key:
            node: yaml.Node = v
            return node
    return None


def _object(obj: yaml.MappingNode, fields: tuple[str, ...]) -> None:
    meta = _get(obj, "metadata")
    if not isinstance(meta, yaml.MappingNode):
        return
    for index, (key, value) in enumerate(meta.value):
        if (isinstance(key, yaml.ScalarNode) and key.value in fields
                and isinstance(value, yaml.MappingNode)):
            meta.value[index] = (key, yaml.MappingNode(
                value.tag, [(k, _as_text(v)) for k, v in value.value],
                value.start_mark, value.end_mark, value.flow_style))


def _as_text(node: yaml.Node) -> yaml.ScalarNode:
    text = node.value if isinstance(node, yaml.ScalarNode) else ""
    return yaml.ScalarNode(_STR, text, node.start_mark, node.end_mark)


def stringify_annotations(obj: dict[str, Any]) -> None:
    """Make every ``metadata.annotations`` value of ``obj`` a string; drop an empty map."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or "annotations" not in meta:
        return
    annotations = meta["annotations"]
    if not isinstance(annotations, dict) or not annotations:
        del meta["annotations"]
        return
    for key, value in annotations.items():
        if not isinstance(value, str):
            annotations[key] = go_text(value)


def go_text(value: Any) -> str:
    """A value as kustomize prints it after Go's JSON round trip (lists and maps: "")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return go_float(value)
    return value if isinstance(value, str) else ""


def go_float(value: float) -> str:
    """A float as Go's encoding/json writes it: plain digits from 1e-6 to 1e21, otherwise
    an exponent (``1e+30``)."""
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value == 0:
        return "0"
    if 1e-6 <= abs(value) < 1e21:
        text = format(decimal.Decimal(repr(value)), "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    mantissa, _, exponent = repr(value).partition("e")
    sign = exponent[0] if exponent[:1] in "+-" else "+"
    return f"{mantissa.removesuffix('.0')}e{sign}{exponent.lstrip('+-').lstrip('0') or '0'}"


def normalise_numbers(value: Any) -> Any:
    """``value`` after Go's JSON round trip, as a JSON 6902 patch leaves an object in
    kustomize: integral floats become integers."""
    if isinstance(value, dict):
        return {k: normalise_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [normalise_numbers(v) for v in value]
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    return value
