"""The one error hierarchy of fleetsync: every error it raises on purpose is defined here.

    FleetsyncError                       T/P  meaning
    ├── ConfigError                      P    a file the user wrote is invalid (names the
    │                                         file, the document or entry, and the field)
    ├── SourceError                      T    Git could not be read
    │   ├── GitError                     T    a git command failed (its stderr, redacted)
    │   │   ├── RemoteUnreachable        T    connection refused, DNS, network down
    │   │   ├── GitTimeout               T    git ran past its time limit and was killed
    │   │   ├── AuthenticationFailed     P    the remote refused the credentials
    │   │   └── GitOutputTooLarge        P    git printed more than the caller allows
    │   ├── InvalidRepository            P    an address git must not be given
    │   ├── RevisionNotFound             P    no branch, tag or commit of that name
    │   ├── PathNotFound                 P    the path does not exist at that commit
    │   ├── UnsafeTree                   P    a tree too large, or a path or link leaving it
    │   │   └── UnsafeObjects            P    git's fsck refused objects the remote sent
    │   └── ChartError                   P    a Helm chart repository's index or archive
    │       └── ChartUnreachable         T    the chart repository did not answer
    ├── RenderError                      P    manifests could not be rendered
    │   ├── UnsupportedFieldError        P    a kustomization field the renderer lacks
    │   ├── UnsupportedSourceError       P    a source type not rendered (Helm, Jsonnet)
    │   │   └── HelmChartFound           P    a Helm chart, and no helm binary to render it
    │   ├── SecurityError                P    a read outside the root, a size or depth limit
    │   │   └── RenderLimitError         P    a count of the render's budget was exceeded
    │   ├── RenderTimeoutError           T    the render ran past its deadline
    │   └── RenderCancelledError         T    nobody waits for the render any more
    ├── PlanError                        P    the desired objects cannot be planned
    ├── InventoryError                   P    a stored inventory cannot be read
    ├── ClusterError                     T    a cluster could not be reached or refused
    │   ├── ClusterUnreachable           T    no answer: connection, TLS or timeout
    │   ├── ShardLost                    P    the target is another replica's now: not sent
    │   ├── InvalidApiPath               P    a value from Git cannot be part of a REST path
    │   └── ApiError                     P    the Kubernetes API answered with an error Status
    │       ├── NotFound                 P    404: the object, or its kind, does not exist
    │       ├── Conflict                 P    409: exists, stale version, SSA field conflict
    │       ├── Forbidden                P    401, 403
    │       ├── Unprocessable            P    400, 422: the object is invalid
    │       ├── TooManyRequests          T    429
    │       └── ServerError              T    5xx
    ├── StoreError                       P    the store file could not be used (names it)
    │   ├── StoreLocked                  T    another process holds the database lock
    │   ├── StoreFenced                  P    another replica reconciles that cluster now
    │   ├── StoreCorrupt                 P    not SQLite, malformed, or an unreadable row
    │   ├── StoreTooNew                  P    written by a newer fleetsync
    │   ├── StoreClosed                  P    used after ``close()``
    │   └── UnknownOperation             P    no operation has that id
    ├── ControlError                     P    the hub refuses an API request:
    │   ├── AppNotFound                  P      no such app, cluster of it, history entry (404)
    │   ├── InvalidRequest               P      malformed or ambiguous (400)
    │   └── AppConflict                  P      the app's state forbids it now (409)
    ├── WebhookError                     P    a webhook request refused (its HTTP status)
    ├── HubUnreachable                   T    the CLI got no answer from the hub
    ├── HubError                         P    the hub answered the CLI with an error status
    └── LocalClusterError                P    a local control plane (clusters/local) failed

Temporary (T) or permanent (P) is ``FleetsyncError.temporary``, decided here once per
class: temporary means the same request may succeed later with nothing changed (the
scheduler retries it with backoff: an unreachable remote or cluster, a lock, a deadline);
permanent means someone must change something first (a file, a commit, credentials, a
cluster's permissions), so the hub reports it and waits for that change. What a reconcile
shows for an error is decided in one place, ``engine.hub.failures``, from the step that
failed and the error's class. Every message names the app, cluster, file or object, and
never holds a secret (URLs are redacted where they enter).

Policy violations are not exceptions: ``engine.policy`` returns them as data, shown as
``PolicyViolation`` conditions (``engine.model.ConditionType``). Old import paths
(``engine.source.errors``, ``engine.render.errors``, ``engine.clusters.errors``,
``engine.store.errors``, ``engine.api.control``, ...) re-export these classes.

A few exceptions are signals inside one package, never raised to its callers; they are
listed here so that the tree is whole:

    engine.scheduler.queue.QueueClosed     ``get`` on a closed work queue: a worker stops
    engine.store.codec.BadRow              a row this code cannot read → StoreCorrupt
    engine.store.schema.SchemaTooNew       the file's schema is newer → StoreTooNew
    engine.store.queries.NoSuchOperation   no row for an operation id → UnknownOperation
    engine.clusters.watch._Expired         a watch's resourceVersion is gone (410): list again
    engine.health.lua._TooDeep             an object too deep for a health script: Unknown
    engine.auth.tokens.BadToken            a token that is not valid: the request is anonymous
    engine.auth.service.LoginRefused       a refused login: the API answers 401 or 429
    engine.auth.service.AccountError       an account change that cannot be made: 400
    engine.api.feed.TooManySubscribers     every event stream slot is taken: the API answers 503
    engine.hub.deletions.NotHeld           no held deletion of that app → AppConflict (409)
    engine.store.conn.DriverError          a PostgreSQL error, its message only → StoreError
    engine.store.queries.Fenced            a write under a lost shard → StoreFenced
    engine.store.store._WriteFailed        a write of a group failed: rerun it with savepoints
    engine.semver.InvalidConstraint        a chart version constraint that cannot be read
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


class FleetsyncError(Exception):
    """Base of every error fleetsync raises on purpose."""

    temporary: bool = False


class ConfigError(FleetsyncError):
    """A configuration, registration or app file is invalid."""


# --- Git ---------------------------------------------------------------------------------


class SourceError(FleetsyncError):
    """A Git repository could not be fetched or read."""

    temporary = True


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


class GitOutputTooLarge(GitError):
    """git printed more than the caller's ``max_stdout`` bytes and was stopped."""

    temporary = False


class _RepositoryProblem(SourceError):
    temporary = False

    def __init__(self, message: str, *, repo: str) -> None:
        super().__init__(f"{repo}: {message}")
        self.repo = repo


class InvalidRepository(_RepositoryProblem):
    """An address git must not be given: not a URL, a refused transport or host, or a
    local repository the operator did not allow."""


class RevisionNotFound(_RepositoryProblem):
    """The revision names no branch, tag or commit of the repository."""


class PathNotFound(_RepositoryProblem):
    """The path does not exist in the tree of that commit."""


class UnsafeTree(_RepositoryProblem):
    """The tree cannot be handed out safely (too large, or a path or link leaving the root)."""


class UnsafeObjects(UnsafeTree):
    """git's fsck refused objects the remote sent (e.g. a tree listing one name twice)."""


# --- Rendering ---------------------------------------------------------------------------


class ChartError(SourceError):
    """A Helm chart repository gave no usable chart: a bad index, no version matching,
    an archive too large, unsafe or not matching its digest."""

    temporary = False


class ChartUnreachable(ChartError):
    """The chart repository did not answer (connection, timeout, a server error)."""

    temporary = True


class RenderError(FleetsyncError):
    """Manifests could not be rendered into objects."""


class UnsupportedFieldError(RenderError):
    """A kustomization uses a field the native renderer does not implement."""


class UnsupportedSourceError(RenderError):
    """The path is a kind of source fleetsync does not render (a Helm chart, Jsonnet)."""


class HelmChartFound(UnsupportedSourceError):
    """The path is a Helm chart: rendered with the helm binary when one is configured
    (``engine.renderer.helm``), refused otherwise."""


class SecurityError(RenderError):
    """A render tried to read outside its allowed root, or exceeded a size limit."""


class RenderLimitError(SecurityError):
    """A render exceeded a count of its budget (directories, files or objects)."""


class RenderTimeoutError(RenderError):
    """A render ran past its deadline; it may succeed on a less loaded hub."""

    temporary = True


class RenderCancelledError(RenderError):
    """A render was stopped because no one waits for its result any more."""

    temporary = True


# --- Planning ----------------------------------------------------------------------------


class PlanError(FleetsyncError):
    """The desired objects cannot be planned (missing identity, duplicate, bad wave)."""


class InventoryError(FleetsyncError):
    """The stored inventory could not be read (it is then treated as unknown, never empty)."""


# --- Clusters ----------------------------------------------------------------------------


class ClusterError(FleetsyncError):
    """A cluster could not be reached or refused a request."""

    temporary = True


class ClusterUnreachable(ClusterError):
    """The cluster did not answer (connection, TLS or timeout)."""


class ShardLost(ClusterError):
    """This hub replica no longer reconciles the target (its shard went to another
    replica); the write was not sent."""

    temporary = False


class InvalidApiPath(ClusterError):
    """A value from Git cannot be part of an API path; no request was sent."""

    temporary = False


class ApiError(ClusterError):
    """The Kubernetes API server answered with an error ``Status``.

    Carries the cluster name, the request line and the Status' ``reason``, ``message`` and
    ``details``; never a header, token or certificate.
    """

    temporary = False

    def __init__(
        self,
        *,
        cluster: str,
        request: str,
        status: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{cluster}: {request}: {status} {reason}: {message}")
        self.cluster, self.request, self.status = cluster, request, status
        self.reason, self.message = reason, message
        self.details = details or {}


class NotFound(ApiError):
    """404: the object, or its kind, does not exist."""


class Conflict(ApiError):
    """409: already exists, stale resourceVersion, or an SSA field conflict."""


class Forbidden(ApiError):
    """401/403: the credentials may not do this."""


class Unprocessable(ApiError):
    """400/422: the API server rejected the object as invalid."""


class TooManyRequests(ApiError):
    """429: throttled by the API server."""

    temporary = True


class ServerError(ApiError):
    """5xx: the API server failed."""

    temporary = True


# --- Store -------------------------------------------------------------------------------


class StoreError(FleetsyncError):
    """The store at ``path`` could not be opened, read or written."""

    def __init__(self, message: str, *, path: Path | str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = Path(path)


class StoreLocked(StoreError):
    """The database stayed locked by another connection longer than the busy timeout."""

    temporary = True


class StoreFenced(StoreError):
    """A write for a cluster that another hub replica reconciles now (scale-out)."""


class StoreCorrupt(StoreError):
    """The file is not a usable SQLite database, or holds a row this code cannot read."""


class StoreTooNew(StoreError):
    """The schema version in the file is newer than this fleetsync knows."""


class StoreClosed(StoreError):
    """The store was used after it was closed."""


class UnknownOperation(StoreError):
    """``finish_operation`` named an operation id the store does not hold."""


# --- The hub's API, webhooks and the CLI's client ------------------------------------------


class ControlError(FleetsyncError):
    """A request to the hub that it refuses; the subclass says why (and the HTTP status)."""


class AppNotFound(ControlError):
    """The app, cluster of the app or history entry named does not exist."""


class InvalidRequest(ControlError):
    """The request is malformed or ambiguous (e.g. a rollback id of another app)."""


class AppConflict(ControlError):
    """The request is valid but the app's current state forbids it (e.g. it is invalid)."""


class WebhookError(FleetsyncError):
    """A webhook request this hub refuses; ``status`` is the HTTP answer."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class HubUnreachable(FleetsyncError):
    """No connection to the hub, or no answer in time."""

    temporary = True


class HubError(FleetsyncError):
    """The hub answered with an error status."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


# --- Local clusters ------------------------------------------------------------------------


class LocalClusterError(FleetsyncError):
    """A local control plane from clusters/local failed to build, start or stop."""
