"""What a commit tree may hold before any of it is written to disk (pure).

A tree from a hostile repository can name one path twice (a symlink ``x``, then a
directory ``x``: git's fsck calls it duplicateEntries), or put files below a path that is
itself a file or a symlink. Written naively, the files below would go *through* the
symlink, anywhere on the hub's disk. ``check_listing`` refuses such listings as a whole,
and paths with ``..``, empty or ``.git`` components (in any case), before a byte is written.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field

from engine.source.errors import UnsafeTree

SYMLINK_MODE = 0o120000
EXECUTABLE_MODE = 0o100755
MAX_DEPTH = 128  # components per path; deeper trees are refused rather than half-written


@dataclass(frozen=True)
class TreeFile:
    """One file of a commit: its path, mode, and content (or link target for a symlink)."""

    path: str
    mode: int
    data: bytes = field(repr=False)

    @property
    def is_symlink(self) -> bool:
        """Whether this entry is a symbolic link (``data`` is then the target)."""
        return self.mode == SYMLINK_MODE


def normalise_subpath(path: str, *, repo: str) -> str:
    """A path inside the repository as ``a/b`` ('' for the root); refuse ``..`` and absolutes."""
    if path.startswith("/") or "\\" in path:
        raise UnsafeTree(f"path {path!r} must be relative to the repository root", repo=repo)
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeTree(f"path {path!r} leaves the repository root", repo=repo)
    return "/".join(parts)


def link_target(path: str, target: bytes) -> str | None:
    """Where a symlink at ``path`` points, relative to the root; None if it points outside.

    Lexical only: a chain of links can still escape, so check each hop when following them.
    """
    text = target.decode("utf-8", "surrogateescape")
    if not text or text.startswith("/") or "\0" in text:
        return None
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), text))
    if resolved == ".." or resolved.startswith("../"):
        return None
    return "" if resolved == "." else resolved


def check_listing(entries: Iterable[tuple[str, bool]], *, repo: str) -> None:
    """Refuse a listing of ``(path, is_symlink)`` that cannot be written as plain files.

    Refused: a path listed twice, a path below another listed path (a file or symlink
    cannot also be a directory), ``..``/``.``/empty/``.git`` components, over-deep paths.
    """
    seen: set[str] = set()
    parents: set[str] = set()
    for path, _ in entries:
        check_path(path, repo=repo)
        if path in seen:
            raise UnsafeTree(f"the tree lists {path!r} twice", repo=repo)
        seen.add(path)
        parts = path.split("/")
        parents.update("/".join(parts[:i]) for i in range(1, len(parts)))
    if clash := min(seen & parents, default=None):
        raise UnsafeTree(f"the tree lists {clash!r} both as a file or symlink and as a "
                         "directory", repo=repo)  # fmt: skip


def check_path(path: str, *, repo: str) -> None:
    """Refuse one path that could leave the root or write into a ``.git`` directory."""
    parts = path.split("/")
    if any(p in ("", ".", "..") or p.lower() == ".git" for p in parts):
        raise UnsafeTree(f"refusing to write the path {path!r}", repo=repo)
    if len(parts) > MAX_DEPTH:
        raise UnsafeTree(f"the path {path[:80]!r}... is deeper than {MAX_DEPTH} directories",
                         repo=repo)  # fmt: skip


def check_links(files: Iterable[TreeFile], *, repo: str) -> None:
    """Refuse symlinks whose target is absolute, empty or lexically outside the root."""
    for file in files:
        if file.is_symlink and link_target(file.path, file.data) is None:
            raise UnsafeTree(f"symlink {file.path!r} points outside the repository", repo=repo)
