"""Commit trees on disk, one directory per (repository, SHA), shared by every app.

The renderer reads files from a directory bounded by the repository root, so each commit
an app needs is written out once (from Git's object store, no checkout) under
``<dataDir>/trees/<repo hash>/<sha>/``. Concurrent requests for the same commit share one
write; a bounded number of commits per repository is kept, oldest removed first.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
from collections import OrderedDict
from pathlib import Path

from engine.source import GitSource
from engine.source.urls import normalise_url

KEEP_PER_REPO = 4


class TreeCache:
    """Materialised commit trees under ``root``."""

    def __init__(self, source: GitSource, root: Path, *, keep: int = KEEP_PER_REPO) -> None:
        self._source = source
        self._root = root
        self._keep = keep
        self._ready: dict[str, OrderedDict[str, Path]] = {}
        self._pending: dict[tuple[str, str], asyncio.Future[Path]] = {}

    async def tree(self, *, repo: str, sha: str) -> Path:
        """The directory holding ``repo`` at ``sha``, written on first use."""
        repo_dir = self._root / _repo_hash(repo)
        ready = self._ready.setdefault(str(repo_dir), OrderedDict())
        if sha in ready:
            ready.move_to_end(sha)
            return ready[sha]
        pending = self._pending.get((repo, sha))
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Path] = asyncio.get_running_loop().create_future()
        self._pending[(repo, sha)] = future
        try:
            path = await self._write(repo=repo, sha=sha, repo_dir=repo_dir)
            ready[sha] = path
            self._evict(ready)
            future.set_result(path)
            return path
        except BaseException as err:
            future.set_exception(err)
            future.exception()
            raise
        finally:
            del self._pending[(repo, sha)]

    async def _write(self, *, repo: str, sha: str, repo_dir: Path) -> Path:
        final = repo_dir / sha
        if await asyncio.to_thread(final.is_dir):
            return final
        scratch = repo_dir / f".{sha}.partial"
        await asyncio.to_thread(_clear, scratch)
        await self._source.materialise(repo=repo, sha=sha, dest=scratch)
        await asyncio.to_thread(scratch.rename, final)
        return final

    def _evict(self, ready: OrderedDict[str, Path]) -> None:
        while len(ready) > self._keep:
            _, old = ready.popitem(last=False)
            shutil.rmtree(old, ignore_errors=True)


def _clear(scratch: Path) -> None:
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.parent.mkdir(parents=True, exist_ok=True)


def _repo_hash(repo: str) -> str:
    return hashlib.sha256(normalise_url(repo).encode()).hexdigest()[:16]
