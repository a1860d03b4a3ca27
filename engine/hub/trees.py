"""Commit trees on disk, one directory per (access, SHA), shared by the apps of one access.

The renderer reads files from a directory bounded by the repository root, so each commit
an app needs is written out once (from Git's object store, no checkout) under
``<dataDir>/trees/<access key>/<sha>/``. The access key (``GitSource.access_key``) covers
the credential the repository is read with: an app never gets a tree fetched with a
credential it did not present. Concurrent requests for one tree share one write.

A new commit's tree is made from another tree of the same access when one is on disk and
no lease holds it (the most recently used): that directory is taken out of the cache and
only the files the two commits differ in are written (``GitSource.rematerialise``), so
a commit that changes one app of a large repository writes that app's files, not the
repository. A render that finds its result in the cache needs no tree, so the older tree
is rarely wanted again; when it is, it is made the same way. If the update fails, the
tree is written whole.

Disk is bounded: each tree by the source's file and byte limits, and the cache by
``keep`` trees per access and ``keep_total`` trees in all, least recently used removed
first (never one held through ``lease``). Trees left by an earlier run are removed at
first use, since nothing says which access or which checks wrote them.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from engine.asyncflight import AsyncSingleFlight
from engine.source import GitSource

log = logging.getLogger(__name__)

KEEP_PER_REPO = 4
KEEP_TOTAL = 64

_Key = tuple[str, str]  # (access key, sha)


class TreeCache:
    """Materialised commit trees under ``root``."""

    def __init__(
        self, source: GitSource, root: Path, *, keep: int = KEEP_PER_REPO,
        keep_total: int = KEEP_TOTAL,
    ) -> None:  # fmt: skip
        self._source = source
        self._root = root
        self._keep = keep
        self._keep_total = keep_total
        self._ready: OrderedDict[_Key, Path] = OrderedDict()  # least recently used first
        self._writes: AsyncSingleFlight[_Key, Path] = AsyncSingleFlight()
        self._leases: Counter[_Key] = Counter()
        self._started = False
        self._start_lock = asyncio.Lock()
        self.updates = 0  # trees made from another tree rather than written whole

    async def tree(self, *, repo: str, sha: str) -> Path:
        """The directory holding ``repo`` at ``sha``, written on first use."""
        key = (self._source.access_key(repo), sha)
        if key in self._ready:
            self._ready.move_to_end(key)
            return self._ready[key]
        path, _ = await self._writes.do(key, lambda: self._write_and_keep(repo=repo, sha=sha,
                                                                         key=key))
        return path

    async def _write_and_keep(self, *, repo: str, sha: str, key: _Key) -> Path:
        """Write one tree (once for every concurrent caller), keep it, evict over bounds."""
        path = await self._write(repo=repo, sha=sha, key=key)
        self._ready[key] = path
        await asyncio.to_thread(_remove, self._evict(protect=key))
        return path

    @asynccontextmanager
    async def lease(self, *, repo: str, sha: str) -> AsyncIterator[Path]:
        """The tree of ``repo`` at ``sha``, kept on disk as it is (neither evicted nor made
        into another commit's tree) from the call until the block ends."""
        key = (self._source.access_key(repo), sha)
        self._leases[key] += 1  # before the tree is ready: no other write may take it
        try:
            yield await self.tree(repo=repo, sha=sha)
        finally:
            self._leases[key] -= 1
            if self._leases[key] <= 0:
                del self._leases[key]

    @property
    def held(self) -> int:
        """How many trees are on disk now."""
        return len(self._ready)

    async def _write(self, *, repo: str, sha: str, key: _Key) -> Path:
        await self._start()
        final = self._root / key[0] / sha
        scratch = final.with_name(f".{sha}.partial")
        await asyncio.to_thread(_remove, [scratch, final])
        await asyncio.to_thread(final.parent.mkdir, parents=True, exist_ok=True)
        if not await self._made_from_another(repo=repo, sha=sha, key=key, scratch=scratch):
            await self._source.materialise(repo=repo, sha=sha, dest=scratch)
        await asyncio.to_thread(scratch.rename, final)
        return final

    async def _made_from_another(self, *, repo: str, sha: str, key: _Key,
                                 scratch: Path) -> bool:  # fmt: skip
        """Whether ``scratch`` now holds the tree of ``sha``, made from a tree of the same
        access that no lease holds (taken out of the cache), writing only what differs."""
        donor = next((k for k in reversed(self._ready)
                      if k[0] == key[0] and k != key and not self._leases[k]), None)  # fmt: skip
        if donor is None:
            return False
        old = self._ready.pop(donor)
        try:
            await asyncio.to_thread(old.rename, scratch)
            await self._source.rematerialise(repo=repo, sha=sha, dest=scratch, old_sha=donor[1])
        except Exception as err:  # written whole instead: that checks and says the same
            log.info("tree %s made from %s failed, written whole: %s", sha[:12],
                     donor[1][:12], err)  # fmt: skip
            await asyncio.to_thread(_remove, [scratch, old])
            return False
        self.updates += 1
        return True

    async def _start(self) -> None:
        async with self._start_lock:
            if not self._started:
                await asyncio.to_thread(_remove, [self._root])
                self._started = True

    def _evict(self, *, protect: _Key) -> list[Path]:
        """Forget the least recently used trees over the bounds; their paths, to remove."""
        per_access = Counter(access for access, _ in self._ready)
        gone: list[Path] = []
        for key in list(self._ready):
            over_total = len(self._ready) > self._keep_total
            if not over_total and max(per_access.values(), default=0) <= self._keep:
                break
            held = self._leases[key] or key == protect
            if held or not (over_total or per_access[key[0]] > self._keep):
                continue
            gone.append(self._ready.pop(key))
            per_access[key[0]] -= 1
        return gone


def _remove(paths: list[Path]) -> None:
    for path in paths:
        shutil.rmtree(path, ignore_errors=True)
