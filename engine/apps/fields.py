"""Reading one YAML document field by field: typed getters whose errors name the place.

Every ``ConfigError`` raised here reads ``<file>: <Kind> <name>: <field path>: <problem>``,
so that a user can find the line to fix; every warning reads ``<Kind> <name>: <field
path> ...``. Durations are Argo CD's: a Go duration (``"5s"``, ``"3m"``, ``"1h30m"``) or a
bare number of seconds.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from engine.durations import parse_duration
from engine.errors import ConfigError


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


@dataclass
class Fields:
    """Validation context of one document: its file, ``Kind name`` label and warnings."""

    source: str
    label: str
    warnings: list[str] = field(default_factory=list)

    def error(self, path: str, problem: str) -> ConfigError:
        """A ConfigError naming the file, the document and the field."""
        parts = [p for p in (self.source, self.label, path) if p]
        return ConfigError(": ".join([*parts, problem]))

    def warn(self, path: str, problem: str) -> None:
        """Record that ``path`` was ignored, with the reason."""
        self.warnings.append(f"{self.label}: {path} {problem}")

    def unsupported(self, raw: Mapping[str, Any], known: Iterable[str], prefix: str) -> None:
        """Warn about every key of ``raw`` outside ``known`` (reported, never dropped silently)."""
        for key in sorted(set(raw) - set(known)):
            self.warn(_join(prefix, key), "is not supported; ignored")

    def mapping(self, raw: Mapping[str, Any], key: str, path: str) -> dict[str, Any]:
        """``raw[key]`` as a mapping (empty if absent or null)."""
        value = raw.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise self.error(_join(path, key), "must be a mapping")
        return value

    def items(self, raw: Mapping[str, Any], key: str, path: str) -> list[Any]:
        """``raw[key]`` as a list (empty if absent or null)."""
        value = raw.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(_join(path, key), "must be a list")
        return value

    def string(self, raw: Mapping[str, Any], key: str, path: str, default: str = "") -> str:
        """``raw[key]`` as a string; numbers are not silently turned into strings."""
        value = raw.get(key)
        if value is None:
            return default
        if not isinstance(value, str):
            raise self.error(_join(path, key), "must be a string")
        return value

    def required(self, raw: Mapping[str, Any], key: str, path: str) -> str:
        """``raw[key]`` as a non-empty string."""
        value = self.string(raw, key, path)
        if not value:
            raise self.error(_join(path, key), "is required")
        return value

    def strings(self, raw: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        """``raw[key]`` as a list of strings."""
        values = self.items(raw, key, path)
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise self.error(f"{path}.{key}[{index}]", "must be a string")
        return tuple(values)

    def boolean(self, raw: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        """``raw[key]`` as a YAML boolean."""
        value = raw.get(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(_join(path, key), "must be true or false")
        return value

    def integer(self, raw: Mapping[str, Any], key: str, path: str) -> int | None:
        """``raw[key]`` as an integer, or None if absent."""
        value = raw.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(_join(path, key), "must be an integer")
        return value

    def duration(self, raw: Mapping[str, Any], key: str, path: str) -> float | None:
        """``raw[key]`` as seconds (``"5s"``, ``"3m"`` or a number), or None if absent."""
        value = raw.get(key)
        if value is None or value == "":
            return None
        try:
            return parse_duration(value)
        except ValueError:
            problem = f"{value!r} is not a duration like 30s or 3m"
            raise self.error(_join(path, key), problem) from None
