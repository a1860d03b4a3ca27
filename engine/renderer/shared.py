"""Directories built by one render, kept for the other renders of the same commit tree.

The apps of a repository usually list the same bases: with these kept, a commit that
changes a shared base builds that base once, not once per app. Kept by real path (a tree's
directory names its access and commit, so a path never holds other content), bounded by
the resources held, least recently used dropped first; shared by the render threads.
The real paths their reads resolved are kept too (each ``realpath`` costs a system call per
path component, and every app's render resolves the shared base's paths again).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from engine.render.build import SharedBuild

MAX_RESOURCES = 50_000  # resources held in all kept builds
MAX_REAL_PATHS = 100_000  # real paths remembered for all trees (then forgotten at once)


class SharedDirectories:
    """``engine.render.build.SharedBuilds`` for the hub's render threads."""

    def __init__(self, *, max_resources: int = MAX_RESOURCES) -> None:
        self._max = max_resources
        self._kept: OrderedDict[Path, SharedBuild] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0
        self._real_paths: dict[str, Path] = {}

    def get(self, directory: Path) -> SharedBuild | None:
        """The build of ``directory`` kept earlier, if any."""
        with self._lock:
            found = self._kept.get(directory)
            if found is None:
                self.misses += 1
                return None
            self._kept.move_to_end(directory)
            self.hits += 1
            return found

    def put(self, directory: Path, built: SharedBuild) -> None:
        """Keep the build of ``directory``; the oldest go while over the bound."""
        size = len(built.result)
        if size > self._max:
            return
        with self._lock:
            old = self._kept.pop(directory, None)
            if old is not None:
                self._held -= len(old.result)
            self._kept[directory] = built
            self._held += size
            while self._held > self._max:
                _, dropped = self._kept.popitem(last=False)
                self._held -= len(dropped.result)

    def real_paths(self) -> dict[str, Path]:
        """The real paths the renders of every tree resolved (a path of a tree never
        resolves differently: the tree is written once); emptied when it grows too big."""
        with self._lock:
            if len(self._real_paths) >= MAX_REAL_PATHS:
                self._real_paths = {}
            return self._real_paths

    def clear(self) -> None:
        """Forget every kept build and real path (a hard refresh)."""
        with self._lock:
            self._kept.clear()
            self._held = 0
            self._real_paths = {}
