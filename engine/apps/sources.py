"""Where Applications come from: one ``AppSource`` per ``apps:`` entry, with its files as bytes.

An ``AppSource`` is what the catalog sees of an ``apps:`` entry of ``fleetsync.yaml``: the
files found there (raw bytes, never decoded here) and what its Applications may do — the
AppProjects they may name (``projects``; ``*`` means any) and whether AppProject documents
are accepted from it (``app_projects``). The hub builds them for Git directories from a
commit's files; ``read_dir_source`` builds one for a local file or directory.

Everything read is bounded, since a source may be written by anyone who can push to it:
a file over ``MAX_FILE_BYTES`` is that file's error (its bytes are not kept), and a source
holding more than ``MAX_FILES_PER_SOURCE`` files is the source's error. A source or file
that could not be read keeps the Applications it held before (see ``engine.apps.catalog``).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path

MAX_FILE_BYTES = 1024 * 1024
MAX_FILES_PER_SOURCE = 5_000
MAX_DOCUMENTS_PER_SOURCE = 10_000
SUFFIXES = (".yaml", ".yml")
ANY_PROJECT = "*"


@dataclass(frozen=True)
class AppFile:
    """One YAML file of a source: its bytes, or why they could not be read.

    ``name`` is what messages show (for Git: the redacted URL, the path and the commit);
    ``key`` stays the same across commits, so a file broken by a commit is recognised as
    the one that defined an app before.
    """

    name: str
    data: bytes | None = field(default=None, repr=False)
    error: str = ""
    key: str = ""

    @property
    def identity(self) -> str:
        """The file's stable identity (``key``, else ``name``)."""
        return self.key or self.name


@dataclass(frozen=True)
class AppSource:
    """One ``apps:`` entry: its files, the projects its Applications may name, and whether
    it may define AppProjects. ``error`` says why it could not be read at all."""

    name: str
    files: tuple[AppFile, ...] = ()
    projects: tuple[str, ...] = (ANY_PROJECT,)
    app_projects: bool = True
    error: str = ""
    key: str = ""

    @property
    def identity(self) -> str:
        """The source's stable identity (``key``, else ``name``)."""
        return self.key or self.name

    def allows(self, project: str) -> bool:
        """Whether Applications of this source may name ``project``."""
        return ANY_PROJECT in self.projects or project in self.projects


def file_from_bytes(name: str, data: bytes, *, key: str = "") -> AppFile:
    """An ``AppFile`` of ``data``, or of the size error when it is over ``MAX_FILE_BYTES``."""
    if len(data) > MAX_FILE_BYTES:
        return AppFile(name, error=_too_large(), key=key)
    return AppFile(name, data, key=key)


def read_dir_source(
    path: Path, *, projects: tuple[str, ...] = (ANY_PROJECT,), app_projects: bool = True,
    key: str = "",
) -> AppSource:
    """Read a local YAML file, or every ``*.yaml``/``*.yml`` under a directory (recursively,
    hidden entries skipped, symlinked directories not followed, in sorted order)."""
    source = AppSource(str(path), projects=projects, app_projects=app_projects, key=key)
    if not (path.is_file() or path.is_dir()):
        return replace(source, error="no such file or directory")
    files = list(islice(yaml_files(path), MAX_FILES_PER_SOURCE + 1))
    if len(files) > MAX_FILES_PER_SOURCE:
        return replace(source, error=too_many_files())
    return replace(source, files=tuple(_read(f) for f in files))


def too_many_files() -> str:
    """The error of a source holding more files than ``MAX_FILES_PER_SOURCE``."""
    return f"holds more than {MAX_FILES_PER_SOURCE} YAML files; none of them is read"


def yaml_files(root: Path) -> Iterator[Path]:
    """``root`` if it is a file, else the YAML files under it as ``read_dir_source`` reads
    them (hidden entries skipped, symlinked directories not followed, sorted)."""
    if root.is_file():
        yield root
        return
    for directory, dirs, names in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(names):
            if name.endswith(SUFFIXES) and not name.startswith("."):
                file = Path(directory) / name
                if file.is_file():
                    yield file


def file_stamps(root: Path) -> Iterator[tuple[str, int, int]]:
    """(path, mtime, size) of each file ``yaml_files(root)`` yields, in the same order, with
    one system call per file and no ``Path`` objects: the hub looks every few seconds, and
    a fleet has thousands of Application files."""
    try:
        found = os.stat(root)
    except OSError:
        return
    if stat.S_ISREG(found.st_mode):
        yield str(root), found.st_mtime_ns, found.st_size
        return
    if stat.S_ISDIR(found.st_mode):
        yield from _stamps_below(str(root))


def _stamps_below(directory: str) -> Iterator[tuple[str, int, int]]:
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda e: e.name)
    except OSError:
        return
    below = []
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            below.append(entry.path)
        elif entry.name.endswith(SUFFIXES):
            try:
                found = entry.stat()
            except OSError:
                continue
            if stat.S_ISREG(found.st_mode):
                yield entry.path, found.st_mtime_ns, found.st_size
    for path in below:
        yield from _stamps_below(path)


def _read(file: Path) -> AppFile:
    try:
        with file.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as err:
        return AppFile(str(file), error=f"cannot read: {err.strerror or err}")
    return file_from_bytes(str(file), data)


def _too_large() -> str:
    return f"larger than {MAX_FILE_BYTES} bytes, the limit for an app file"
