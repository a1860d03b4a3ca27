"""Semantic versions and the range constraints Helm and Argo CD accept for a chart's
``targetRevision`` (pure).

A constraint is comparators joined by spaces or commas (all must hold), alternatives joined
by ``||``. A comparator is a version with an operator (``=``, ``!=``, ``>``, ``>=``, ``<``,
``<=``), a caret (``^1.2.3``: same major), a tilde (``~1.2.3``: same minor), a wildcard
(``*``, ``1.x``, ``1.2.*``) or a partial version (``1.2`` means ``1.2.x``). Pre-release
versions match only an exact constraint, as in Helm. The highest matching version wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

_VERSION = re.compile(r"^v?(\d+)(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?(?:-([0-9A-Za-z.-]+))?"
                      r"(?:\+[0-9A-Za-z.-]+)?$")  # fmt: skip
_COMPARATOR = re.compile(r"^(\^|~|>=|<=|!=|>|<|=)?\s*(.+)$")


class InvalidConstraint(ValueError):
    """A version or constraint that cannot be read."""


@dataclass(frozen=True, order=True)
class Version:
    """A version, ordered as semver orders them (a pre-release before its release)."""

    major: int
    minor: int
    patch: int
    release: tuple[int, tuple[tuple[int, int | str], ...]] = (1, ())  # (0, parts): pre-release

    @property
    def prerelease(self) -> bool:
        return self.release[0] == 0


def parse_version(text: str) -> Version:
    """``text`` as a full version (``v`` prefix allowed); InvalidConstraint otherwise."""
    match = _VERSION.match(text.strip())
    if not match or match.group(2) in (None, "x", "X", "*") or match.group(3) in (
            None, "x", "X", "*"):
        raise InvalidConstraint(f"{text!r} is not a version")
    return Version(int(match.group(1)), int(match.group(2)), int(match.group(3)),
                   _release(match.group(4)))


def _release(pre: str | None) -> tuple[int, tuple[tuple[int, int | str], ...]]:
    if not pre:
        return (1, ())
    parts = tuple((0, int(p)) if p.isdigit() else (1, p) for p in pre.split("."))
    return (0, parts)


def highest(versions: Iterable[str], constraint: str) -> str | None:
    """The highest of ``versions`` (texts; unreadable ones skipped) that ``constraint``
    allows, or None."""
    check = _compile(constraint)
    found: list[tuple[Version, str]] = []
    for text in versions:
        try:
            version = parse_version(text)
        except InvalidConstraint:
            continue
        if check(version):
            found.append((version, text))
    return max(found)[1] if found else None


Check = Callable[["Version"], bool]


def _compile(constraint: str) -> Check:
    text = constraint.strip()
    if not text:
        raise InvalidConstraint("an empty version constraint")
    alternatives = [_all(part) for part in text.split("||")]
    return lambda v: any(check(v) for check in alternatives)


def _all(part: str) -> Check:
    tokens = [t for t in re.split(r"[\s,]+", part.strip()) if t]
    merged: list[str] = []
    for token in tokens:  # ">= 1.2" written with a space
        if merged and merged[-1] in ("^", "~", ">=", "<=", "!=", ">", "<", "="):
            merged[-1] += token
        else:
            merged.append(token)
    if not merged:
        raise InvalidConstraint(f"{part!r} holds no comparator")
    checks = [_comparator(t) for t in merged]
    exact = all(t.lstrip("=v")[:1].isdigit() and "-" in t for t in merged)
    return lambda v: all(check(v) for check in checks) and (exact or not v.prerelease)


def _comparator(token: str) -> Check:
    match = _COMPARATOR.match(token)
    if not match:
        raise InvalidConstraint(f"{token!r} is not a comparator")
    operator, rest = match.group(1) or "", match.group(2)
    if rest in ("*", "x", "X"):
        return lambda v: True
    version = _VERSION.match(rest)
    if not version:
        raise InvalidConstraint(f"{token!r} is not a comparator")
    major = int(version.group(1))
    minor = None if version.group(2) in (None, "x", "X", "*") else int(version.group(2))
    patch = None if version.group(3) in (None, "x", "X", "*") else int(version.group(3))
    low = Version(major, minor or 0, patch or 0, _release(version.group(4)))
    if operator in ("", "=") and (minor is None or patch is None):  # a wildcard range
        high = Version(major + 1, 0, 0, (0, ())) if minor is None else Version(
            major, minor + 1, 0, (0, ()))
        return lambda v: low <= v < high
    if operator == "^":
        high = (Version(major + 1, 0, 0, (0, ())) if major else
                Version(0, (minor or 0) + 1, 0, (0, ())))
        return lambda v: low <= v < high
    if operator == "~":
        high = Version(major, (minor or 0) + 1, 0, (0, ())) if minor is not None else Version(
            major + 1, 0, 0, (0, ()))
        return lambda v: low <= v < high
    tests: dict[str, Check] = {
        "": lambda v: v == low, "=": lambda v: v == low, "!=": lambda v: v != low,
        ">": lambda v: v > low, ">=": lambda v: v >= low, "<": lambda v: v < low,
        "<=": lambda v: v <= low}  # fmt: skip
    return tests[operator]
