"""The ``clusters.yaml`` registration format: parsing and validation (no network).

    clusters:
    - name: prod-eu                      # unique, DNS-label-like
      labels: {env: prod, region: eu}    # used by fleet targeting
      kubeconfig: prod-eu.kubeconfig     # relative to this file
      context: prod-eu                   # optional; default: the current context
      limits: {concurrentApplies: 4, qps: 50}
      appShards: 3                       # scale-out: its apps split over 3 shards (default 1)
    - name: edge-1
      server: https://10.0.0.7:6443
      caFile: edge-1-ca.crt              # or caData (base64 PEM) or insecureSkipTLSVerify
      tokenFile: /var/run/edge-1/token   # or tokenEnv / token, or certFile + keyFile
    - inCluster: true                    # the cluster the hub's pod runs in (name: in-cluster)

``inCluster`` reads what Kubernetes gives every pod: the API server from
``$KUBERNETES_SERVICE_HOST``/``$KUBERNETES_SERVICE_PORT``, the CA and the service account's
token from ``/var/run/secrets/kubernetes.io/serviceaccount`` (``$FLEETSYNC_SERVICE_ACCOUNT_DIR``
elsewhere); the token file is read again whenever it changes (the kubelet rotates it). Its
name defaults to ``in-cluster``, which answers to ``https://kubernetes.default.svc``.

``appShards`` (1 to ``MAX_APP_SHARDS``) matters only to a hub with ``scaleOut``: a cluster
with more apps than one replica should carry is split by app into that many shards, each
reconciled by one replica (``engine.hub.ownership``); every replica holding one of them
watches the cluster.

Secrets (``token``, ``caData`` and what files and variables hold) are kept out of every
``repr``, log line and error message: errors name the file, the entry (index and name)
and the field, never a value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.config.documents import yaml_document
from engine.errors import ConfigError

REGISTRATION_FILE = "clusters.yaml"  # the name ``fleetsync local up`` writes
_NAME = re.compile(r"^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$")
_KUBECONFIG_FIELDS = {"kubeconfig", "context"}
_SERVER_FIELDS = {
    "server",
    "caFile",
    "caData",
    "insecureSkipTLSVerify",
    "token",
    "tokenFile",
    "tokenEnv",
    "certFile",
    "keyFile",
    "tlsServerName",
}
_ENTRY_FIELDS = ({"name", "labels", "limits", "inCluster", "appShards"}
                 | _KUBECONFIG_FIELDS | _SERVER_FIELDS)  # fmt: skip
MAX_APP_SHARDS = 64
IN_CLUSTER_NAME = "in-cluster"
SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
_LIMIT_FIELDS = {"concurrentApplies", "qps"}


@dataclass(frozen=True)
class Limits:
    """Per-cluster limits: concurrent server-side applies and API requests per second."""

    concurrent_applies: int = 8
    qps: float = 50.0


@dataclass(frozen=True)
class KubeconfigAuth:
    """Credentials from a kubeconfig file (absolute path) and an optional context."""

    path: Path
    context: str | None = None


@dataclass(frozen=True)
class ServerAuth:
    """Credentials given inline: server URL, CA, and a bearer token or client certificate."""

    server: str
    ca_file: Path | None = None
    ca_data: str | None = field(default=None, repr=False)
    insecure: bool = False
    tls_server_name: str | None = None
    token: str | None = field(default=None, repr=False)
    token_file: Path | None = None
    token_env: str | None = None
    cert_file: Path | None = None
    key_file: Path | None = None


@dataclass(frozen=True)
class ClusterSpec:
    """One registered cluster as ``clusters.yaml`` declares it."""

    name: str
    labels: Mapping[str, str]
    auth: KubeconfigAuth | ServerAuth
    limits: Limits = Limits()
    app_shards: int = 1  # the shards its apps are split into under scale-out

    def referenced_files(self) -> tuple[Path, ...]:
        """The files this entry reads credentials from (watched for changes too)."""
        if isinstance(self.auth, KubeconfigAuth):
            return (self.auth.path,)
        paths = (self.auth.ca_file, self.auth.token_file, self.auth.cert_file, self.auth.key_file)
        return tuple(p for p in paths if p is not None)


class _Entry:
    """Validation context for one list entry: every error names file, index, name and field."""

    def __init__(self, source: Path, index: int, raw: dict[str, Any]) -> None:
        self.source, self.index, self.raw = source, index, raw
        name = raw.get("name")
        self.label = f"clusters[{index}]" + (f" ({name})" if isinstance(name, str) else "")

    def error(self, fld: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.source}: {self.label}: {fld}: {problem}")

    def string(self, fld: str, *, required: bool = False) -> str | None:
        value = self.raw.get(fld)
        if value is None:
            if required:
                raise self.error(fld, "is required")
            return None
        if not isinstance(value, str) or not value:
            raise self.error(fld, "must be a non-empty string")
        return value

    def path(self, fld: str) -> Path | None:
        value = self.string(fld)
        return None if value is None else (self.source.parent / value).absolute()


def local_directory() -> Path:
    """Where ``fleetsync local up`` keeps its clusters: ``$XDG_STATE_HOME/fleetsync/local``
    (``~/.local/state/fleetsync/local``)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "fleetsync" / "local"


def default_file() -> Path:
    """``$FLEETSYNC_CLUSTERS``, else the registration file of ``fleetsync local up``."""
    return Path(os.environ.get("FLEETSYNC_CLUSTERS") or local_directory() / REGISTRATION_FILE)


def load_file(path: Path) -> list[ClusterSpec]:
    """Read and validate the registration file at ``path``."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from None
    return parse(data, source=path)


def parse(text: str | bytes, *, source: Path) -> list[ClusterSpec]:
    """Validate registration YAML (bytes must be UTF-8); ``source`` names the file and
    anchors relative paths."""
    doc = yaml_document(text, source=str(source))
    if doc is None:
        return []
    if not isinstance(doc, dict) or set(doc) - {"clusters"}:
        raise ConfigError(f"{source}: expected a mapping with one key, `clusters`")
    entries = doc.get("clusters") or []
    if not isinstance(entries, list):
        raise ConfigError(f"{source}: clusters: must be a list")
    specs: list[ClusterSpec] = []
    seen: set[str] = set()
    for index, raw in enumerate(entries):
        if not isinstance(raw, dict):
            raise ConfigError(f"{source}: clusters[{index}]: must be a mapping")
        spec = _parse_entry(_Entry(source, index, raw))
        if spec.name in seen:
            raise _Entry(source, index, raw).error("name", f"duplicate cluster {spec.name!r}")
        seen.add(spec.name)
        specs.append(spec)
    return specs


def _parse_entry(entry: _Entry) -> ClusterSpec:
    unknown = sorted(set(entry.raw) - _ENTRY_FIELDS)
    if unknown:
        raise entry.error(unknown[0], "unknown field")
    in_cluster = entry.raw.get("inCluster", False)
    if not isinstance(in_cluster, bool):
        raise entry.error("inCluster", "must be true or false")
    name = entry.string("name", required=not in_cluster) or IN_CLUSTER_NAME
    if not _NAME.match(name):
        raise entry.error("name", "must be lower-case letters, digits, '-' or '.'")
    auth = _in_cluster(entry) if in_cluster else _auth(entry)
    return ClusterSpec(
        name=name,
        labels=_labels(entry),
        auth=auth,
        limits=_limits(entry),
        app_shards=_app_shards(entry),
    )


def _app_shards(entry: _Entry) -> int:
    parts = entry.raw.get("appShards", 1)
    if isinstance(parts, bool) or not isinstance(parts, int) or not 1 <= parts <= MAX_APP_SHARDS:
        raise entry.error("appShards", f"must be an integer from 1 to {MAX_APP_SHARDS}")
    return parts


def _in_cluster(entry: _Entry) -> ServerAuth:
    """The pod's own cluster, as its environment and service account describe it."""
    mixed = sorted(set(entry.raw) & (_SERVER_FIELDS | _KUBECONFIG_FIELDS))
    if mixed:
        raise entry.error(mixed[0], "cannot be combined with inCluster")
    host = os.environ.get("KUBERNETES_SERVICE_HOST", "")
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    if not host or not port.isdigit():
        raise entry.error("inCluster", "$KUBERNETES_SERVICE_HOST and _PORT are not set: "
                                       "the hub does not run in a pod")
    account = Path(os.environ.get("FLEETSYNC_SERVICE_ACCOUNT_DIR") or SERVICE_ACCOUNT_DIR)
    server = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
    return ServerAuth(server=server, ca_file=account / "ca.crt", token_file=account / "token")


def _labels(entry: _Entry) -> dict[str, str]:
    raw = entry.raw.get("labels") or {}
    if not isinstance(raw, dict):
        raise entry.error("labels", "must be a mapping of strings")
    for key, value in raw.items():
        if not isinstance(key, str) or not isinstance(value, str | int | float | bool):
            raise entry.error(f"labels.{key}", "must be a string")
    return {str(k): str(v) for k, v in raw.items()}


def _limits(entry: _Entry) -> Limits:
    raw = entry.raw.get("limits")
    if raw is None:
        return Limits()
    if not isinstance(raw, dict):
        raise entry.error("limits", "must be a mapping")
    unknown = sorted(set(raw) - _LIMIT_FIELDS)
    if unknown:
        raise entry.error(f"limits.{unknown[0]}", "unknown field")
    applies = raw.get("concurrentApplies", Limits.concurrent_applies)
    if isinstance(applies, bool) or not isinstance(applies, int) or applies < 1:
        raise entry.error("limits.concurrentApplies", "must be an integer >= 1")
    qps = raw.get("qps", Limits.qps)
    if isinstance(qps, bool) or not isinstance(qps, int | float) or qps <= 0:
        raise entry.error("limits.qps", "must be a number > 0")
    return Limits(concurrent_applies=applies, qps=float(qps))


def _auth(entry: _Entry) -> KubeconfigAuth | ServerAuth:
    given = set(entry.raw)
    if "kubeconfig" in given:
        mixed = sorted(given & _SERVER_FIELDS)
        if mixed:
            raise entry.error(mixed[0], "cannot be combined with kubeconfig")
        path = entry.path("kubeconfig")
        assert path is not None
        return KubeconfigAuth(path=path, context=entry.string("context"))
    if "context" in given:
        raise entry.error("context", "needs kubeconfig")
    server = entry.string("server")
    if server is None:
        raise entry.error("kubeconfig", "give kubeconfig (+ context) or server + credentials")
    if not server.startswith(("https://", "http://")):
        raise entry.error("server", "must be an http(s) URL")
    return _server_auth(entry, server)


def _server_auth(entry: _Entry, server: str) -> ServerAuth:
    insecure = entry.raw.get("insecureSkipTLSVerify", False)
    if not isinstance(insecure, bool):
        raise entry.error("insecureSkipTLSVerify", "must be true or false")
    ca = [f for f in ("caFile", "caData") if f in entry.raw]
    if len(ca) > 1 or (ca and insecure):
        raise entry.error(ca[-1], "give one of caFile, caData, insecureSkipTLSVerify")
    tokens = [f for f in ("token", "tokenFile", "tokenEnv") if f in entry.raw]
    certs = [f for f in ("certFile", "keyFile") if f in entry.raw]
    if len(tokens) > 1 or (tokens and certs):
        raise entry.error(
            (tokens + certs)[1], "give one of token, tokenFile, tokenEnv, or certFile + keyFile"
        )
    if certs and len(certs) != 2:
        missing = "keyFile" if certs == ["certFile"] else "certFile"
        raise entry.error(missing, "is required with " + certs[0])
    if not tokens and not certs:
        raise entry.error("token", "give one of token, tokenFile, tokenEnv, or certFile + keyFile")
    return ServerAuth(
        server=server.rstrip("/"),
        ca_file=entry.path("caFile"),
        ca_data=entry.string("caData"),
        insecure=insecure,
        tls_server_name=entry.string("tlsServerName"),
        token=entry.string("token"),
        token_file=entry.path("tokenFile"),
        token_env=entry.string("tokenEnv"),
        cert_file=entry.path("certFile"),
        key_file=entry.path("keyFile"),
    )
