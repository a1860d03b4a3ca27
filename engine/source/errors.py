"""Errors of the Git source layer, all below ``engine.errors.SourceError``.

    SourceError
    ├── GitError                git failed (temporary unless a subclass says otherwise)
    │   ├── RemoteUnreachable   connection refused, DNS, network down       (temporary)
    │   ├── GitTimeout          git ran longer than its limit and was killed (temporary)
    │   └── AuthenticationFailed the remote refused the credentials          (permanent)
    ├── InvalidRepository       the repository address is not a URL git can use (permanent)
    ├── RevisionNotFound        no branch, tag or commit of that name         (permanent)
    ├── PathNotFound            the path does not exist at that commit        (permanent)
    └── UnsafeTree              a tree too large, or a path/link leaving the root (permanent)
        └── UnsafeObjects       git's fsck refused objects the remote sent         (permanent)

Every message names the repository with its URL redacted; git's stderr is redacted too.
"""

from __future__ import annotations

from engine.errors import SourceError


class GitError(SourceError):
    """A git command failed; ``stderr`` holds its redacted error output."""

    def __init__(self, message: str, *, repo: str, stderr: str = "") -> None:
        detail = f": {stderr.strip()}" if stderr.strip() else ""
        super().__init__(f"{repo}: {message}{detail}")
        self.repo = repo
        self.stderr = stderr


class RemoteUnreachable(GitError):
    """The remote could not be reached."""


class GitTimeout(GitError):
    """A git command exceeded its timeout and its process group was killed."""


class AuthenticationFailed(GitError):
    """The remote refused the credentials, or needed some and none were configured."""

    temporary = False


class _PermanentSourceError(SourceError):
    temporary = False

    def __init__(self, message: str, *, repo: str) -> None:
        super().__init__(f"{repo}: {message}")
        self.repo = repo


class InvalidRepository(_PermanentSourceError):
    """The repository address is neither a URL, an scp-like SSH address nor an absolute path."""


class RevisionNotFound(_PermanentSourceError):
    """The revision names no branch, tag or commit of the repository."""


class PathNotFound(_PermanentSourceError):
    """The path does not exist in the tree of that commit."""


class UnsafeTree(_PermanentSourceError):
    """The tree cannot be handed out safely (too large, or a path or link leaving the root)."""


class UnsafeObjects(UnsafeTree):
    """git's fsck refused objects the remote sent (e.g. a tree listing one name twice)."""
