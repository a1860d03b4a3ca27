"""Directories built by one render, kept for the other renders of the same commit tree.

The apps of a repository usually list the same bases: with these kept, a commit that
changes a shared base builds that base once, not once per app. Kept by real path (a tree's
directory names its access and commit, so a path never holds other content), bounded by
the resources held, least recently used dropped first; shared by the render threads.
What each of their paths is (file, directory, link) is kept too: each render resolves and
looks at the shared base's paths again (through ``..`` from its own directory), and
``realpath`` costs a system call per path component.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

from engine.render.build import SharedBuild

MAX_RESOURCES = 50_000  # resources held in all kept builds
MAX_KINDS = 50_000  # paths whose kind is known, for all trees (then forgotten at once)


class SharedDirectories:
    """``engine.render.build.SharedBuilds`` for the hub's render threads."""

    def __init__(self, *, max_resources: int = MAX_RESOURCES) -> None:
        self._max = max_resources
        self._kept: OrderedDict[Path, SharedBuild] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0
        self._kinds: dict[str, int] = {}

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

    def kinds(self) -> dict[str, int]:
        """What the paths of the trees are (file, directory, link...), as their renders
        found (a tree's path names its commit, so that never changes); emptied when big."""
        with self._lock:
            if len(self._kinds) >= MAX_KINDS:
                self._kinds = {}
            return self._kinds

    def clear(self) -> None:
        """Forget every kept build and real path (a hard refresh)."""
        with self._lock:
            self._kept.clear()
            self._held = 0
            self._kinds = {}
