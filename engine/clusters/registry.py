"""The registered clusters, re-read when ``clusters.yaml`` or a file it names changes.

``reload()`` hashes the registration file and every credential file it references; when
the fingerprint of an entry differs from the last one seen, that cluster is *changed* (so
the client pool drops its connections and rebuilds them with the new credentials). An
invalid file never replaces a valid registry: the previous clusters stay in force and the
error is raised (by ``reload``) or logged (by ``watch``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from engine.config.clusters import ClusterSpec, parse
from engine.errors import ConfigError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegistryChange:
    """What one reload changed, by cluster name."""

    added: frozenset[str] = frozenset()
    changed: frozenset[str] = frozenset()
    removed: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed)


class ClusterRegistry:
    """The clusters of one registration file; ``reload`` or ``watch`` to follow its edits."""

    def __init__(self, path: Path) -> None:
        self.path = path.absolute()
        self._specs: dict[str, ClusterSpec] = {}
        self._prints: dict[str, str] = {}
        self._file_digest: str | None = None

    @classmethod
    def load(cls, path: Path) -> ClusterRegistry:
        """A registry with ``path`` read once (errors raise ``ConfigError``)."""
        registry = cls(path)
        registry.reload()
        return registry

    @property
    def clusters(self) -> Mapping[str, ClusterSpec]:
        """The registered clusters by name, in file order."""
        return dict(self._specs)

    def get(self, name: str) -> ClusterSpec:
        """The cluster called ``name``; ``ConfigError`` naming the known ones otherwise."""
        try:
            return self._specs[name]
        except KeyError:
            known = ", ".join(self._specs) or "none"
            raise ConfigError(f"{self.path}: no cluster {name!r} (registered: {known})") from None

    def reload(self) -> RegistryChange:
        """Re-read the file if it or a credential file changed; return what changed."""
        try:
            raw = self.path.read_bytes()
        except OSError as err:
            raise ConfigError(f"{self.path}: cannot read: {err.strerror}") from None
        digest = hashlib.sha256(raw).hexdigest()
        if digest == self._file_digest:
            specs = self._specs
        else:
            specs = {s.name: s for s in parse(raw, source=self.path)}
        prints = {name: _fingerprint(spec) for name, spec in specs.items()}
        change = RegistryChange(
            added=frozenset(prints.keys() - self._prints.keys()),
            changed=frozenset(
                n for n in prints.keys() & self._prints.keys() if prints[n] != self._prints[n]
            ),
            removed=frozenset(self._prints.keys() - prints.keys()),
        )
        self._specs, self._prints, self._file_digest = specs, prints, digest
        return change

    async def watch(self, *, interval: float = 2.0) -> AsyncIterator[RegistryChange]:
        """Poll every ``interval`` seconds and yield each non-empty change."""
        while True:
            await asyncio.sleep(interval)
            try:
                change = await asyncio.to_thread(self.reload)
            except ConfigError as err:
                log.warning("keeping the previous cluster registration: %s", err)
                continue
            if change:
                yield change


def _fingerprint(spec: ClusterSpec) -> str:
    """A digest of the entry and the content of every file it reads credentials from."""
    digest = hashlib.sha256(repr((spec, spec.auth)).encode())
    auth = spec.auth
    for secret in (getattr(auth, "token", None), getattr(auth, "ca_data", None)):
        digest.update(b"\0" + (secret or "").encode())
    for path in spec.referenced_files():
        try:
            digest.update(b"\0" + path.read_bytes())
        except OSError:
            digest.update(b"\0missing")
    return digest.hexdigest()
