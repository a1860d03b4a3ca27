"""The bounds on the work of one render, checked from inside the render.

A few hundred bytes of kustomizations can ask for exponential work: each level listing
two directories of the next, or components that fan out (a component works on what its
parent accumulated, so its result cannot be reused). Memoizing built directories removes
most of it; the rest is stopped by a ``RenderBudget`` that counts kustomization
directories visited, files read and objects accumulated, and holds a deadline and a
cancel flag. The reader and the builder call it at every step, so a render stops within
one step of the deadline or of a cancel from another thread (a render thread cannot be
killed from outside). Pure: no I/O; ``threading.Event`` only carries the cancel flag.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from engine.errors import RenderCancelledError, RenderLimitError, RenderTimeoutError

DEFAULT_TIMEOUT = 60.0
MAX_VISITS = 2_000
MAX_FILES = 20_000
MAX_ACCUMULATED = 100_000


@dataclass
class RenderBudget:
    """Counters, a deadline and a cancel flag for one render (shared by its steps)."""

    timeout: float = DEFAULT_TIMEOUT
    max_visits: int = MAX_VISITS
    max_files: int = MAX_FILES
    max_objects: int = MAX_ACCUMULATED
    visits: int = 0
    files: int = 0
    objects: int = 0
    deadline: float | None = None
    _cancelled: threading.Event = field(default_factory=threading.Event, repr=False)

    def start(self) -> RenderBudget:
        """Start the clock (once; later calls keep the first deadline)."""
        if self.deadline is None:
            self.deadline = time.monotonic() + self.timeout
        return self

    def cancel(self) -> None:
        """Ask the render to stop at its next check (safe from any thread)."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        """Whether ``cancel`` was called."""
        return self._cancelled.is_set()

    def remaining(self) -> float:
        """Seconds left before the deadline (the full timeout if not started)."""
        if self.deadline is None:
            return self.timeout
        return max(0.0, self.deadline - time.monotonic())

    def expired(self) -> bool:
        """Whether the render must stop now (cancelled or past its deadline)."""
        return self._cancelled.is_set() or (
            self.deadline is not None and time.monotonic() > self.deadline)

    def check(self, where: str) -> None:
        """Raise if the render was cancelled or is past its deadline."""
        if self._cancelled.is_set():
            raise RenderCancelledError(f"{where}: render cancelled (no one waits for it)")
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise RenderTimeoutError(
                f"{where}: render exceeded its time limit of {self.timeout:g} s "
                "(limits.renderTimeout)")

    def visit(self, where: str) -> None:
        """Count one kustomization directory built (memoized ones included)."""
        self.visits += 1
        if self.visits > self.max_visits:
            raise RenderLimitError(
                f"{where}: render visits more than {self.max_visits} kustomization "
                "directories (resources or components fanning out?)")
        self.check(where)

    def read_file(self, where: str | Callable[[], str]) -> None:
        """Count one file read; ``where`` (or what it returns, asked only for an error)
        names the file."""
        self.files += 1
        if self.files <= self.max_files and not self.expired():
            return
        name = where if isinstance(where, str) else where()
        if self.files > self.max_files:
            raise RenderLimitError(f"{name}: render reads more than {self.max_files} files")
        self.check(name)

    def add_objects(self, count: int, where: str) -> None:
        """Count objects loaded, generated or copied into the render."""
        self.objects += count
        if self.objects > self.max_objects:
            raise RenderLimitError(
                f"{where}: render accumulates more than {self.max_objects} objects "
                "(resources fanning out?)")
        self.check(where)

