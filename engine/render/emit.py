"""Writing objects as multi-document YAML the way ``kustomize build`` prints them."""

from __future__ import annotations

import re
from typing import Any

import yaml

_BaseDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
# Strings a YAML 1.1 reader would take for something else are quoted, as kustomize does.
_AMBIGUOUS = frozenset({"y", "Y", "n", "N", "yes", "Yes", "YES", "no", "No", "NO", "on", "On",
                        "ON", "off", "Off", "OFF", "true", "True", "TRUE", "false", "False",
                        "FALSE", "null", "Null", "NULL", "~", ""})


_TYPED = frozenset(f"tag:yaml.org,2002:{t}" for t in ("bool", "int", "float", "null",
                                                       "timestamp"))
# Floats of YAML 1.2 that YAML 1.1 (PyYAML's resolver) reads as strings, e.g. "1e3".
_FLOAT_1_2 = re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")


class _Dumper(_BaseDumper):  # type: ignore[misc,valid-type]
    pass


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    implicit = dumper.resolve(yaml.ScalarNode, value, (True, False))  # type: ignore[no-untyped-call]
    if value in _AMBIGUOUS or implicit in _TYPED or _FLOAT_1_2.match(value):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    if "\n" in value and not any(line != line.rstrip() for line in value.split("\n")):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _represent_str)


def to_yaml(objects: list[dict[str, Any]]) -> str:
    """Objects as ``---``-separated YAML documents with sorted keys."""
    return "---\n".join(
        yaml.dump(obj, Dumper=_Dumper, sort_keys=True, default_flow_style=False,
                  allow_unicode=True, width=80, indent=2)
        for obj in objects
    )
