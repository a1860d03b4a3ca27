"""Registered clusters: the registry of ``clusters.yaml`` (``engine.config.clusters``),
async clients, and the watches of live objects.

``ClusterRegistry`` reads and follows the registration file; ``ClusterPool`` holds one
``ClusterClient`` per cluster (connection limits, timeouts, rate limit, discovery cache);
API failures are the ``ClusterError`` branch of ``engine.errors``, mapped from HTTP
statuses by ``engine.clusters.errors``. ``watch.LiveWatcher`` holds one watch per (cluster,
kind), shared by all apps: drift and health of every tracked object.
"""

from __future__ import annotations

from engine.clusters.client import ClusterClient
from engine.clusters.discovery import ApiResource
from engine.clusters.pool import ClusterPool
from engine.clusters.registry import ClusterRegistry, RegistryChange
from engine.errors import (
    ApiError,
    ClusterUnreachable,
    Conflict,
    Forbidden,
    InvalidApiPath,
    NotFound,
    ServerError,
    TooManyRequests,
    Unprocessable,
)

__all__ = [
    "ApiError",
    "ApiResource",
    "ClusterClient",
    "ClusterPool",
    "ClusterRegistry",
    "ClusterUnreachable",
    "Conflict",
    "Forbidden",
    "InvalidApiPath",
    "NotFound",
    "RegistryChange",
    "ServerError",
    "TooManyRequests",
    "Unprocessable",
]
