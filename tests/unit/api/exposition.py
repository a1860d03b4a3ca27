"""A small strict checker of Prometheus' text exposition format 0.0.4, for the tests.

``parse(text)`` returns ``{family: Parsed}`` or raises ``AssertionError`` naming the line
that breaks the grammar or the rules fleetsync keeps: HELP then TYPE before any sample,
each family once and its samples together, no duplicate series, counters ending in
``_total``, histograms with cumulative buckets ending at ``+Inf`` equal to ``_count``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN"
SAMPLE = re.compile(
    rf"^(?P<name>{NAME})(?:\{{(?P<labels>(?:{LABEL}={VALUE})(?:,{LABEL}={VALUE})*)?,?\}})?"
    rf" (?P<value>{NUMBER})(?: -?\d+)?$"
)
PAIR = re.compile(rf"({LABEL})=({VALUE})")
HELP = re.compile(rf"^# HELP ({NAME}) ((?:[^\\\n]|\\[\\n])*)$")
TYPE = re.compile(rf"^# TYPE ({NAME}) (counter|gauge|histogram|summary|untyped)$")
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count", "")}


def unescape(value: str) -> str:
    """A quoted label value as the string it stands for."""
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], value[1:-1])


@dataclass
class Parsed:
    """One family: type, help and samples as (name, labels, value)."""

    type: str
    help: str
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)


def parse(text: str) -> dict[str, Parsed]:
    """Check ``text`` line by line and return its families."""
    assert text.endswith("\n"), "the page must end with a newline"
    families: dict[str, Parsed] = {}
    helps: dict[str, str] = {}
    current: str | None = None
    series: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for number, line in enumerate(text[:-1].split("\n"), 1):
        where = f"line {number}: {line!r}"
        if m := HELP.match(line):
            assert m[1] not in helps and m[1] not in families, f"second HELP, {where}"
            helps[m[1]] = m[2]
        elif m := TYPE.match(line):
            assert m[1] not in families, f"second TYPE, {where}"
            assert m[1] in helps, f"TYPE without HELP before it, {where}"
            if m[2] == "counter":
                assert m[1].endswith("_total"), f"counter without _total, {where}"
            families[m[1]] = Parsed(m[2], helps[m[1]])
            current = m[1]
        elif m := SAMPLE.match(line):
            assert current is not None, f"sample before any TYPE, {where}"
            family = families[current]
            suffix = m["name"][len(current) :]
            assert m["name"].startswith(current) and suffix in SUFFIXES.get(family.type, ("",)), (
                f"sample outside its family {current}, {where}"
            )
            labels = {k: unescape(v) for k, v in PAIR.findall(m["labels"] or "")}
            ident = (m["name"], tuple(sorted(labels.items())))
            assert ident not in series, f"duplicate series, {where}"
            series.add(ident)
            family.samples.append((m["name"], labels, float(m["value"])))
        else:
            raise AssertionError(f"not exposition format, {where}")
    for name, family in families.items():
        if family.type == "histogram":
            check_histogram(name, family)
    return families


def check_histogram(name: str, family: Parsed) -> None:
    """Buckets cumulative, ending at ``+Inf`` with the value of ``_count``."""
    buckets = [(s[1]["le"], s[2]) for s in family.samples if s[0] == f"{name}_bucket"]
    assert buckets and buckets[-1][0] == "+Inf", f"{name}: last bucket is not +Inf"
    bounds = [float(le) for le, _ in buckets]
    assert bounds == sorted(bounds) and len(set(bounds)) == len(bounds), f"{name}: bounds"
    counts = [c for _, c in buckets]
    assert counts == sorted(counts), f"{name}: buckets are not cumulative"
    [count] = [s[2] for s in family.samples if s[0] == f"{name}_count"]
    [total] = [s[2] for s in family.samples if s[0] == f"{name}_sum"]
    assert counts[-1] == count and not math.isnan(total), f"{name}: +Inf bucket != count"
