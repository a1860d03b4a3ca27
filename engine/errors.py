"""The one error hierarchy of fleetsync.

    FleetsyncError
    ├── ConfigError         a file the user wrote is invalid (names the file, entry, field)
    ├── SourceError         Git could not be read
    ├── RenderError         manifests could not be rendered
    ├── PolicyError         an AppProject rule forbids the change
    ├── ClusterError        a cluster could not be reached or refused a request
    └── LocalClusterError   the local control planes of clusters/local failed

Each carries a message a user can act on. ``temporary`` says whether retrying later
(with backoff) may succeed, or whether the user must change something first.
"""

from __future__ import annotations


class FleetsyncError(Exception):
    """Base of every error fleetsync raises on purpose."""

    temporary: bool = False


class ConfigError(FleetsyncError):
    """A configuration or registration file is invalid."""


class SourceError(FleetsyncError):
    """A Git repository could not be fetched or read."""

    temporary = True


class RenderError(FleetsyncError):
    """Manifests could not be rendered into objects."""


class PolicyError(FleetsyncError):
    """An AppProject rule forbids what the app declares."""


class ClusterError(FleetsyncError):
    """A cluster could not be reached or refused a request."""

    temporary = True


class LocalClusterError(FleetsyncError):
    """A local control plane from clusters/local failed to build, start or stop."""
