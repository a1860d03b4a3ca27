"""The errors of the Git source layer, below ``SourceError`` (defined in ``engine.errors``).

Every message names the repository with its URL redacted; git's stderr is redacted too.
"""

from __future__ import annotations

from engine.errors import (
    AuthenticationFailed,
    GitError,
    GitOutputTooLarge,
    GitTimeout,
    InvalidRepository,
    PathNotFound,
    RemoteUnreachable,
    RevisionNotFound,
    SourceError,
    UnsafeObjects,
    UnsafeTree,
)

__all__ = ["AuthenticationFailed", "GitError", "GitOutputTooLarge", "GitTimeout",
           "InvalidRepository", "PathNotFound", "RemoteUnreachable", "RevisionNotFound",
           "SourceError", "UnsafeObjects", "UnsafeTree"]
