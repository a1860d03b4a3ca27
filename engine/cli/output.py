"""How CLI commands print: tables for people, the API's JSON or YAML for scripts."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any

FORMATS = ("table", "wide", "json", "yaml")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def add_output_option(parser: argparse.ArgumentParser) -> None:
    """``-o table|wide|json|yaml``."""
    parser.add_argument("-o", "--output", choices=FORMATS, default="table",
                        help="table (default), wide (more columns), or the API's answer as "
                             "json or yaml")


def print_body(body: Any, output: str) -> bool:
    """Print ``body`` as JSON or YAML when ``output`` asks for it; whether it did."""
    if output == "json":
        import orjson

        sys.stdout.write(orjson.dumps(body, option=orjson.OPT_INDENT_2).decode() + "\n")
        return True
    if output == "yaml":
        import yaml

        sys.stdout.write(yaml.safe_dump(body, sort_keys=False, allow_unicode=True))
        return True
    return False


def clean(value: Any) -> str:
    """A value as one printable line: control characters (escapes, newlines) become spaces."""
    return "-" if value is None or value == "" else _UNPRINTABLE.sub(" ", str(value)).strip()


def object_name(obj: Any) -> str:
    """An object of an API answer as ``Kind.group namespace/name``, printable."""
    kind = f"{obj['kind']}.{obj['group']}" if obj["group"] else obj["kind"]
    where = f"{obj['namespace']}/{obj['name']}" if obj["namespace"] else obj["name"]
    return f"{clean(kind)} {clean(where)}"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Rows in left-aligned columns under upper-case headers."""
    lines = [[h.upper() for h in headers]] + [[clean(c) for c in row] for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(headers))]
    out = [
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines
    ]
    return "\n".join(out) + "\n"
