"""Writing a commit tree into a new directory without ever following a symlink.

The listing is checked first as a whole (``treefiles.check_listing``: no path twice, no
file below a file or symlink, no ``..`` or ``.git``; ``check_links``: no link target that
leaves the root lexically). Then every directory is opened relative to its parent's file
descriptor with ``O_NOFOLLOW | O_DIRECTORY``, files are created with ``O_CREAT | O_EXCL |
O_NOFOLLOW`` and links with ``symlinkat``: even a tree that got past the checks (or a
case-insensitive file system that folds ``X`` and ``x`` together) cannot make a write land
outside the directory. A last pass resolves every link for real, since a chain of links
that each stay inside (``a -> .``, ``b -> a/..``) can still lead out. On any refusal or
failure the new directory is removed; nothing outside it was touched.

``update_tree`` turns a tree written so into another commit's tree in place: the files the
two commits differ in are removed (and the directories left empty), then written anew
under the same rules; the links of the whole new tree are checked again as above.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from engine.source.errors import UnsafeTree
from engine.source.treefiles import EXECUTABLE_MODE, TreeFile, check_links, check_listing

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# errors that mean a path collided with another entry (or a link) on this file system
_COLLISIONS = frozenset({errno.EEXIST, errno.ELOOP, errno.ENOTDIR, errno.ENAMETOOLONG})


def write_tree(
    files: Mapping[str, TreeFile] | Iterable[TreeFile], dest: Path, *, repo: str
) -> None:
    """Write files under a new directory ``dest``; refuse paths or symlinks that leave it."""
    entries = list(files.values() if isinstance(files, Mapping) else files)
    check_listing(((f.path, f.is_symlink) for f in entries), repo=repo)
    check_links(entries, repo=repo)
    dest.mkdir(parents=True, exist_ok=False)
    with _filling(dest, entries, repo=repo) as root_fd:
        _write_all(root_fd, entries, repo=repo)


def update_tree(
    dest: Path, *, removed: Iterable[str], written: Iterable[TreeFile],
    links: Iterable[TreeFile], repo: str,
) -> None:  # fmt: skip
    """Change the tree in ``dest`` into another commit's: remove the ``removed`` paths (every
    path the commits differ in), write ``written``; ``links`` are all symlinks of the new
    tree. The caller checked the new listing as a whole. On any failure ``dest`` is removed."""
    new_files, new_links = list(written), list(links)
    check_listing(((f.path, f.is_symlink) for f in new_files), repo=repo)
    check_links(new_files + new_links, repo=repo)
    with _filling(dest, new_links, repo=repo) as root_fd:
        gone = [path for path in removed if _remove_entry(root_fd, path)]
        _remove_empty_parents(root_fd, gone)
        _write_all(root_fd, new_files, repo=repo)


@contextlib.contextmanager
def _filling(dest: Path, links: list[TreeFile], *, repo: str) -> Iterator[int]:
    """``dest`` opened for the writes in the block; then every link among ``links`` is
    resolved for real. On any failure ``dest`` is removed whole."""
    try:
        root_fd = os.open(dest, _DIR_FLAGS)
        try:
            yield root_fd
        finally:
            os.close(root_fd)
        _check_resolved_links(dest.resolve(), links, repo=repo)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise


def _remove_entry(root_fd: int, path: str) -> bool:
    """Unlink the file or link at ``path`` if there is one (never through a link)."""
    *dirs, name = path.split("/")
    try:
        with _opened(root_fd, dirs) as parent:
            os.unlink(name, dir_fd=parent)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return False  # nothing there, or a directory: emptied by its own removed files
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return False  # a link where a directory was: the link itself is in ``removed``
        raise
    return True


def _remove_empty_parents(root_fd: int, removed: list[str]) -> None:
    """Remove the directories that ``removed`` left empty, deepest first (git has none)."""
    parents = {"/".join(p.split("/")[:depth]) for p in removed
               for depth in range(1, p.count("/") + 1)}  # fmt: skip
    for directory in sorted(parents, key=lambda d: d.count("/"), reverse=True):
        *dirs, name = directory.split("/")
        try:
            with _opened(root_fd, dirs) as parent:
                os.rmdir(name, dir_fd=parent)
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
                raise


@contextlib.contextmanager
def _opened(root_fd: int, dirs: list[str]) -> Iterator[int]:
    """The directory ``dirs`` below ``root_fd``, each step opened without following a link."""
    fds: list[int] = []
    try:
        for part in dirs:
            fds.append(os.open(part, _DIR_FLAGS, dir_fd=fds[-1] if fds else root_fd))
        yield fds[-1] if fds else root_fd
    finally:
        for fd in fds:
            os.close(fd)


def _write_all(root_fd: int, entries: list[TreeFile], *, repo: str) -> None:
    """Write entries in path order, keeping open only the chain of directories being filled."""
    stack: list[tuple[str, int]] = []  # (directory name, fd), root excluded
    try:
        for file in sorted(entries, key=lambda f: f.path.split("/")):
            *dirs, name = file.path.split("/")
            common = 0
            while common < min(len(stack), len(dirs)) and stack[common][0] == dirs[common]:
                common += 1
            while len(stack) > common:
                os.close(stack.pop()[1])
            for part in dirs[common:]:
                parent = stack[-1][1] if stack else root_fd
                stack.append((part, _open_dir(parent, part, file.path, repo=repo)))
            _write_entry(stack[-1][1] if stack else root_fd, name, file, repo=repo)
    finally:
        for _, fd in stack:
            os.close(fd)


def _open_dir(parent_fd: int, name: str, path: str, *, repo: str) -> int:
    with contextlib.suppress(FileExistsError):
        os.mkdir(name, 0o755, dir_fd=parent_fd)
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
    except OSError as exc:
        raise _collision(exc, path, repo=repo) from None


def _write_entry(dir_fd: int, name: str, file: TreeFile, *, repo: str) -> None:
    try:
        if file.is_symlink:
            os.symlink(file.data, name, dir_fd=dir_fd)
            return
        mode = 0o755 if file.mode == EXECUTABLE_MODE else 0o644
        fd = os.open(name, _FILE_FLAGS, mode, dir_fd=dir_fd)
    except OSError as exc:
        raise _collision(exc, file.path, repo=repo) from None
    with os.fdopen(fd, "wb") as out:
        if file.mode == EXECUTABLE_MODE:  # the umask may have taken x bits away
            os.fchmod(out.fileno(), 0o755)
        out.write(file.data)


def _collision(exc: OSError, path: str, *, repo: str) -> OSError | UnsafeTree:
    if exc.errno in _COLLISIONS:
        reason = os.strerror(exc.errno or 0).lower()
        return UnsafeTree(f"cannot write {path!r} inside the tree ({reason})", repo=repo)
    return exc


def _check_resolved_links(root: Path, entries: list[TreeFile], *, repo: str) -> None:
    for file in entries:
        if file.is_symlink and not _inside(root, os.path.realpath(root / file.path)):
            raise UnsafeTree(f"symlink {file.path!r} points outside the repository", repo=repo)


def _inside(root: Path, candidate: str) -> bool:
    return os.path.commonpath([str(root), candidate]) == str(root)
