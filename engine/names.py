"""Kubernetes object identities, checked before they go into a REST path (pure).

An object's apiVersion, kind, namespace and name come from Git, so they are hostile until
checked: unescaped in a path, ``../../namespaces/kube-system/secrets/x`` or ``a?b`` would
address another object. Every identity is held to Kubernetes' own rules before any request
is sent: a name is a path segment (not ``.`` or ``..``, no ``/`` or ``%``; Kubernetes' own
``IsValidPathSegmentName``) of at most 253 characters, a namespace is a DNS-1123 label,
an API group a DNS-1123 subdomain, a version a DNS-1123 label, and a kind what a
CustomResourceDefinition may name (a DNS-1035 label in any case). The API server applies
its stricter per-kind rules itself. ``path_segment`` escapes each segment of a path too
(and refuses what cannot be escaped), a second line of defence for values that did not
come through these checks, such as an inventory read back from a cluster.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

MAX_NAME = 253
MAX_LABEL = 63
_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_DNS_LABEL = re.compile(_LABEL)
_DNS_SUBDOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_KIND = re.compile(r"[A-Za-z](?:[-A-Za-z0-9]*[A-Za-z0-9])?")
_SHOWN = 64


def name_problem(name: object) -> str | None:
    """Why ``name`` cannot be an object's ``metadata.name``; None if it can."""
    if not isinstance(name, str) or not name:
        return "must be a non-empty string"
    if name in (".", ".."):
        return f"may not be {name!r}"
    if "/" in name or "%" in name:
        return f"{_show(name)} may not contain '/' or '%'"
    if len(name) > MAX_NAME:
        return f"is longer than {MAX_NAME} characters"
    return None


def namespace_problem(namespace: object) -> str | None:
    """Why ``namespace`` cannot be a namespace (a DNS-1123 label); None if it can."""
    return _dns_problem(namespace, _DNS_LABEL, MAX_LABEL, "a DNS-1123 label")


def api_version_problem(api_version: object) -> str | None:
    """Why ``api_version`` is not ``version`` or ``group/version``; None if it is."""
    if not isinstance(api_version, str) or not api_version:
        return "must be a non-empty string"
    group, slash, version = api_version.rpartition("/")
    if slash and not group:
        return f"{_show(api_version)} has an empty group"
    if group and (problem := _dns_problem(group, _DNS_SUBDOMAIN, MAX_NAME, "a DNS-1123 subdomain")):
        return f"group {problem}"
    problem = _dns_problem(version, _DNS_LABEL, MAX_LABEL, "a DNS-1123 label")
    return None if problem is None else f"version {problem}"


def kind_problem(kind: object) -> str | None:
    """Why ``kind`` cannot be a kind (letters, digits and inner dashes); None if it can."""
    if not isinstance(kind, str) or not kind:
        return "must be a non-empty string"
    if len(kind) > MAX_LABEL or not _KIND.fullmatch(kind):
        return f"{_show(kind)} is not a kind (letters, digits and '-', at most {MAX_LABEL})"
    return None


def identity_problems(obj: Mapping[str, Any]) -> list[str]:
    """Each invalid field of ``obj``'s identity, as ``field: why``; empty when all are valid."""
    meta = obj.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    checks = [
        ("apiVersion", api_version_problem(obj.get("apiVersion"))),
        ("kind", kind_problem(obj.get("kind"))),
        _name_or_prefix(meta),
    ]
    if meta.get("namespace") not in (None, ""):
        checks.append(("metadata.namespace", namespace_problem(meta["namespace"])))
    return [f"{field}: {problem}" for field, problem in checks if problem is not None]


def _name_or_prefix(meta: Mapping[str, Any]) -> tuple[str, str | None]:
    """The name's problem; without a name, that of a ``generateName`` (a hook's: the server
    adds five characters, which are valid)."""
    if meta.get("name") is None and isinstance(meta.get("generateName"), str):
        return ("metadata.generateName", name_problem(meta["generateName"] + "x"))
    return ("metadata.name", name_problem(meta.get("name")))


def describe(obj: Mapping[str, Any]) -> str:
    """A short, safe name of an object for messages: ``Kind name`` (values truncated)."""
    meta = obj.get("metadata")
    name = (meta.get("name") or meta.get("generateName")) if isinstance(meta, Mapping) else None
    kind = obj.get("kind")
    shown = kind if isinstance(kind, str) and kind_problem(kind) is None else _show(kind)
    return f"{shown} {_show(name)}"


_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]+")


def path_segment(value: str) -> str:
    """``value`` percent-escaped as one REST path segment; ValueError when no escape is safe.

    Clients normalise ``.`` and ``..`` (even escaped as ``%2E``) out of a URL, and servers
    decode ``%2F`` before they split a path, so those are refused rather than escaped.
    """
    if value in ("", ".", "..") or "/" in value:
        raise ValueError(f"{_show(value)} cannot be a segment of an API path")
    if _UNRESERVED.fullmatch(value):  # what ``quote`` leaves as it is: most names
        return value
    return quote(value, safe="")


def _dns_problem(value: object, pattern: re.Pattern[str], limit: int, what: str) -> str | None:
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if len(value) > limit or not pattern.fullmatch(value):
        return f"{_show(value)} is not {what} (lower-case letters, digits, '-', at most {limit})"
    return None


def _show(value: object) -> str:
    """A value fit for a message: repr'd (so control characters show), cut at 64 chars."""
    text = str(value)
    return repr(text[:_SHOWN] + "..." if len(text) > _SHOWN else text)
