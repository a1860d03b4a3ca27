"""Files of a commit, read straight from the object store: no working tree, no checkout.

``git ls-tree -r -l`` lists the blobs under a path with their sizes, then one
``git cat-file --batch`` streams their contents. Reads take no lock, so any number of
commits of one repository can be read at once (even while it is being fetched). Paths are
POSIX, relative to the repository root. Symlinks are returned as entries whose data is the
link target; whoever follows them decides whether the target stays inside the root.

Bounds: the listing is checked before any blob is read: at most ``max_files`` files and
``max_bytes`` bytes (a few KiB of repository can list 50,000 copies of one blob), no path
listed twice or below a file or symlink (``treefiles.check_listing``). git's own output is
capped too, so a tree that nests one subtree in itself cannot fill the memory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import anyio

from engine.errors import GitOutputTooLarge, PathNotFound, RevisionNotFound, UnsafeTree
from engine.source.mirror import Mirror
from engine.source.treefiles import (
    EXECUTABLE_MODE,
    SYMLINK_MODE,
    TreeFile,
    check_listing,
    link_target,
    normalise_subpath,
)
from engine.source.treewrite import update_tree, write_tree

DEFAULT_MAX_TREE_BYTES = 128 * 1024 * 1024
DEFAULT_MAX_TREE_FILES = 20_000
_LISTING_BYTES_PER_FILE = 1024  # ls-tree output allowed per file: mode, id, size and name
_SIZES_KEPT = 64  # commits whose tree size a mirror remembers


@dataclass(frozen=True)
class _Entry:
    path: str
    mode: int
    oid: str
    size: int


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
    mirror: Mirror,
    *,
    sha: str,
    path: str = "",
    max_bytes: int = DEFAULT_MAX_TREE_BYTES,
    max_files: int = DEFAULT_MAX_TREE_FILES,
) -> dict[str, TreeFile]:
    """Every file under ``path`` at commit ``sha``, keyed by its path from the root."""
    subpath = normalise_subpath(path, repo=mirror.label)
    entries = await _checked_listing(mirror, sha=sha, subpath=subpath, max_bytes=max_bytes,
                                     max_files=max_files)  # fmt: skip
    return await _read_blobs(mirror, entries)


async def _checked_listing(
    mirror: Mirror, *, sha: str, subpath: str, max_bytes: int, max_files: int
) -> list[_Entry]:
    """The files under ``subpath`` at ``sha``, refused over the bounds or unwritable."""
    entries = await _list(mirror, sha=sha, subpath=subpath, max_files=max_files)
    where = f"{subpath or '/'} at {sha[:12]}"
    _check_count(entries, where=where, max_files=max_files, repo=mirror.label)
    total = sum(e.size for e in entries)
    if total > max_bytes:
        raise UnsafeTree(f"{where} holds {total} bytes, over the limit of {max_bytes}",
                         repo=mirror.label)  # fmt: skip
    check_listing(((e.path, e.mode == SYMLINK_MODE) for e in entries), repo=mirror.label)
    return entries


async def _read_blobs(mirror: Mirror, entries: list[_Entry]) -> dict[str, TreeFile]:
    """The contents of ``entries`` (one ``cat-file --batch``), keyed by path."""
    oids = dict.fromkeys(e.oid for e in entries)
    batch = await mirror.git("cat-file", "--batch", stdin="".join(f"{o}\n" for o in oids).encode())
    blobs = parse_cat_file_batch(batch.stdout)
    return {e.path: TreeFile(e.path, e.mode, blobs[e.oid]) for e in entries}


async def changed_paths(
    mirror: Mirror, *, old_sha: str, new_sha: str, max_files: int = DEFAULT_MAX_TREE_FILES
) -> frozenset[str]:
    """Files added, removed or modified between two commits (renames count as both paths).

    Both trees are listed (bounded) first, unless the mirror listed them lately: git diffs
    a tree that nests one subtree in itself level after level for as long as it is let,
    collecting every change before printing any.
    """
    for sha in (old_sha, new_sha):
        if mirror.tree_sizes.get(sha, max_files + 1) <= max_files:
            continue  # listed lately: the commit is there and its tree within the bound
        await _require_commits(mirror, sha)
        entries = await _list(mirror, sha=sha, subpath="", max_files=max_files)
        _check_count(entries, where=f"/ at {sha[:12]}", max_files=max_files, repo=mirror.label)
    result = await mirror.git("diff-tree", "-r", "-z", "--no-renames", "--name-only",
                              "--end-of-options", old_sha, new_sha)  # fmt: skip
    names = result.stdout.split(b"\0")
    return frozenset(n.decode("utf-8", "surrogateescape") for n in names if n)


async def materialise(
    mirror: Mirror,
    *,
    sha: str,
    dest: Path,
    path: str = "",
    max_bytes: int = DEFAULT_MAX_TREE_BYTES,
    max_files: int = DEFAULT_MAX_TREE_FILES,
) -> None:
    """Write the files under ``path`` at ``sha`` into the new directory ``dest``."""
    files = await read_files(mirror, sha=sha, path=path, max_bytes=max_bytes, max_files=max_files)
    await anyio.to_thread.run_sync(lambda: write_tree(files, dest, repo=mirror.label))


async def rematerialise(
    mirror: Mirror,
    *,
    sha: str,
    dest: Path,
    old_sha: str,
    max_bytes: int = DEFAULT_MAX_TREE_BYTES,
    max_files: int = DEFAULT_MAX_TREE_FILES,
) -> None:
    """Turn ``dest``, the whole tree of ``old_sha`` as ``materialise`` wrote it, into the
    tree of ``sha``: only the files the two commits differ in are read and written.

    The new listing is checked as a whole, as for a fresh write; ``old_sha``'s listing was
    when ``dest`` was written, so their diff is bounded.
    """
    entries = await _checked_listing(mirror, sha=sha, subpath="", max_bytes=max_bytes,
                                     max_files=max_files)  # fmt: skip
    limit = max_files * _LISTING_BYTES_PER_FILE * 2 + 64 * 1024
    try:
        diff = await mirror.git("diff-tree", "-r", "-z", "--no-renames", "--name-only",
                                "--end-of-options", old_sha, sha, max_stdout=limit)  # fmt: skip
    except GitOutputTooLarge:
        raise UnsafeTree(f"{old_sha[:12]}..{sha[:12]} changes more files than two trees of "
                         f"{max_files} hold", repo=mirror.label) from None  # fmt: skip
    changed = {n.decode("utf-8", "surrogateescape") for n in diff.stdout.split(b"\0") if n}
    files = await _read_blobs(mirror, [e for e in entries
                                       if e.path in changed or e.mode == SYMLINK_MODE])
    written = [f for path, f in files.items() if path in changed]
    links = [f for f in files.values() if f.is_symlink]
    await anyio.to_thread.run_sync(lambda: update_tree(dest, removed=changed, written=written,
                                                       links=links, repo=mirror.label))


def _check_count(entries: list[_Entry], *, where: str, max_files: int, repo: str) -> None:
    if len(entries) > max_files:
        raise UnsafeTree(f"{where} holds {len(entries)} files, over the limit of {max_files}",
                         repo=repo)  # fmt: skip


async def _list(mirror: Mirror, *, sha: str, subpath: str, max_files: int) -> list[_Entry]:
    pathspec = ["--", subpath] if subpath else []
    limit = max_files * _LISTING_BYTES_PER_FILE + 64 * 1024
    try:
        result = await mirror.git("ls-tree", "-r", "-l", "-z", "--full-tree", "--end-of-options",
                                  f"{sha}^{{tree}}", *pathspec, check=False,
                                  max_stdout=limit)  # fmt: skip
    except GitOutputTooLarge:
        raise UnsafeTree(f"{subpath or '/'} at {sha[:12]} lists over {limit} bytes of names: "
                         f"more files than the limit of {max_files}",
                         repo=mirror.label) from None  # fmt: skip
    if result.returncode != 0:
        await _require_commits(mirror, sha)
        raise PathNotFound(f"cannot list {subpath or '/'} at {sha[:12]}: {result.stderr.strip()}",
                           repo=mirror.label)  # fmt: skip
    entries = parse_ls_tree(result.stdout)
    if not subpath:
        _note_size(mirror, sha, len(entries))
    if subpath and not entries:
        raise PathNotFound(f"path {subpath!r} does not exist at {sha[:12]}", repo=mirror.label)
    return entries


def _note_size(mirror: Mirror, sha: str, files: int) -> None:
    """Remember how many files the whole tree of ``sha`` holds (the latest few commits)."""
    mirror.tree_sizes[sha] = files
    mirror.tree_sizes.move_to_end(sha)
    while len(mirror.tree_sizes) > _SIZES_KEPT:
        mirror.tree_sizes.popitem(last=False)


async def _require_commits(mirror: Mirror, *shas: str) -> None:
    for sha in shas:
        if await mirror.commit_of(sha) is None:
            raise RevisionNotFound(f"commit {sha} is not in the mirror", repo=mirror.label)


__all__ = ["DEFAULT_MAX_TREE_BYTES", "DEFAULT_MAX_TREE_FILES", "EXECUTABLE_MODE",
           "SYMLINK_MODE", "TreeFile", "changed_paths", "link_target", "materialise",
           "normalise_subpath", "parse_cat_file_batch", "parse_ls_tree", "read_files",
           "rematerialise", "touches", "write_tree"]
