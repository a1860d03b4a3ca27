"""Files of a commit, read straight from the object store: no working tree, no checkout.

``git ls-tree -r -l`` lists the blobs under a path with their sizes, then one
``git cat-file --batch`` streams their contents. Reads take no lock, so any number of
commits of one repository can be read at once (even while it is being fetched). Paths are
POSIX, relative to the repository root. Symlinks are returned as entries whose data is the
link target; whoever follows them decides whether the target stays inside the root.
"""

from __future__ import annotations

import os
import posixpath
import shutil
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import anyio

from engine.source.errors import PathNotFound, RevisionNotFound, UnsafeTree
from engine.source.mirror import Mirror

SYMLINK_MODE = 0o120000
EXECUTABLE_MODE = 0o100755
DEFAULT_MAX_TREE_BYTES = 256 * 1024 * 1024


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


@dataclass(frozen=True)
class _Entry:
    path: str
    mode: int
    oid: str
    size: int


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
    if text.startswith("/"):
        return None
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), text))
    if resolved == ".." or resolved.startswith("../"):
        return None
    return "" if resolved == "." else resolved


def touches(changed: Iterable[str], paths: Iterable[str]) -> bool:
    """Whether any changed file is one of ``paths`` or below one of them ('' is the root)."""
    prefixes = [p.strip("/") for p in paths]
    return any(
        not prefix or path == prefix or path.startswith(prefix + "/")
        for path in changed
        for prefix in prefixes
    )


def parse_ls_tree(output: bytes) -> list[_Entry]:
    """Parse ``git ls-tree -r -l -z``; submodules (gitlinks) are left out."""
    entries = []
    for record in output.split(b"\0"):
        if not record:
            continue
        meta, _, raw_path = record.partition(b"\t")
        mode, kind, oid, size = meta.decode().split()
        if kind == "blob":
            path = raw_path.decode("utf-8", "surrogateescape")
            entries.append(_Entry(path, int(mode, 8), oid, int(size)))
    return entries


def parse_cat_file_batch(output: bytes) -> dict[str, bytes]:
    """Parse ``git cat-file --batch`` output into object id -> content (missing ones left out)."""
    objects: dict[str, bytes] = {}
    pos = 0
    while pos < len(output):
        end = output.index(b"\n", pos)
        header = output[pos:end].decode().split()
        pos = end + 1
        if len(header) != 3:  # "<oid> missing" or "<oid> ambiguous"
            continue
        size = int(header[2])
        objects[header[0]] = output[pos : pos + size]
        pos += size + 1
    return objects


async def read_files(
    mirror: Mirror, *, sha: str, path: str = "", max_bytes: int = DEFAULT_MAX_TREE_BYTES
) -> dict[str, TreeFile]:
    """Every file under ``path`` at commit ``sha``, keyed by its path from the root."""
    subpath = normalise_subpath(path, repo=mirror.label)
    entries = await _list(mirror, sha=sha, subpath=subpath)
    total = sum(e.size for e in entries)
    if total > max_bytes:
        raise UnsafeTree(f"{subpath or '/'} at {sha[:12]} holds {total} bytes, over the "
                         f"limit of {max_bytes}", repo=mirror.label)  # fmt: skip
    oids = dict.fromkeys(e.oid for e in entries)
    batch = await mirror.git("cat-file", "--batch", stdin="".join(f"{o}\n" for o in oids).encode())
    blobs = parse_cat_file_batch(batch.stdout)
    return {e.path: TreeFile(e.path, e.mode, blobs[e.oid]) for e in entries}


async def changed_paths(mirror: Mirror, *, old_sha: str, new_sha: str) -> frozenset[str]:
    """Files added, removed or modified between two commits (renames count as both paths)."""
    await _require_commits(mirror, old_sha, new_sha)
    result = await mirror.git("diff-tree", "-r", "-z", "--no-renames", "--name-only",
                              "--end-of-options", old_sha, new_sha)  # fmt: skip
    names = result.stdout.split(b"\0")
    return frozenset(n.decode("utf-8", "surrogateescape") for n in names if n)


def write_tree(files: Mapping[str, TreeFile], dest: Path, *, repo: str) -> None:
    """Write files under a new directory ``dest``; refuse paths or symlinks that leave it."""
    dest.mkdir(parents=True, exist_ok=False)
    try:
        root = dest.resolve()
        for file in files.values():
            _write_one(root, file, repo=repo)
        for file in files.values():
            if file.is_symlink and not _inside(root, os.path.realpath(root / file.path)):
                raise UnsafeTree(f"symlink {file.path!r} points outside the repository",
                                 repo=repo)  # fmt: skip
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise


async def materialise(mirror: Mirror, *, sha: str, dest: Path, path: str = "") -> None:
    """Write the files under ``path`` at ``sha`` into the new directory ``dest``."""
    files = await read_files(mirror, sha=sha, path=path)
    await anyio.to_thread.run_sync(lambda: write_tree(files, dest, repo=mirror.label))


def _write_one(root: Path, file: TreeFile, *, repo: str) -> None:
    parts = file.path.split("/")
    if any(p in ("", ".", "..") or p.lower() == ".git" for p in parts):
        raise UnsafeTree(f"refusing to write the path {file.path!r}", repo=repo)
    target = root.joinpath(*parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    if file.is_symlink:
        if link_target(file.path, file.data) is None:
            raise UnsafeTree(f"symlink {file.path!r} points outside the repository", repo=repo)
        os.symlink(file.data, target)
        return
    target.write_bytes(file.data)
    if file.mode == EXECUTABLE_MODE:
        target.chmod(0o755)


def _inside(root: Path, candidate: str) -> bool:
    return os.path.commonpath([str(root), candidate]) == str(root)


async def _list(mirror: Mirror, *, sha: str, subpath: str) -> list[_Entry]:
    pathspec = ["--", subpath] if subpath else []
    result = await mirror.git("ls-tree", "-r", "-l", "-z", "--full-tree", "--end-of-options",
                              f"{sha}^{{tree}}", *pathspec, check=False)  # fmt: skip
    if result.returncode != 0:
        await _require_commits(mirror, sha)
        raise PathNotFound(f"cannot list {subpath or '/'} at {sha[:12]}: {result.stderr.strip()}",
                           repo=mirror.label)  # fmt: skip
    entries = parse_ls_tree(result.stdout)
    if subpath and not entries:
        raise PathNotFound(f"path {subpath!r} does not exist at {sha[:12]}", repo=mirror.label)
    return entries


async def _require_commits(mirror: Mirror, *shas: str) -> None:
    for sha in shas:
        if await mirror.commit_of(sha) is None:
            raise RevisionNotFound(f"commit {sha} is not in the mirror", repo=mirror.label)
