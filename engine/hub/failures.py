"""One mapping from (step, error) to the condition a target shows (pure).

A reconcile that stops before anything is applied records why as a condition: a type
(``engine.model.ConditionType``), a reason a program can match (``ConditionReason``) and
a message a user can act on. The step says what was being done, the error's class what
went wrong; together they name the real cause:

    step      error                          type              reason
    options   any (a bad ignoreDifferences)  InvalidSpecError  InvalidSpec   (names the file)
    resolve   SourceError                    ComparisonError   SourceFailed
    render    RenderError, SourceError       ComparisonError   RenderFailed
    cluster   ClusterError, temporary        SyncError         ClusterUnavailable
    cluster   ClusterError, permanent        SyncError         ClusterError
    cluster   ConfigError (registration)     SyncError         InvalidCluster
    resolve   anything else                  SyncError         ResolveFailed
    render    anything else                  SyncError         RenderFailed
    cluster   anything else                  SyncError         ClusterFailed

Problems found without an exception are written by their checks: an invalid Application
or project (``InvalidSpecError``/``InvalidSpec``, ``definition``), a broken AppProject rule
(``PolicyViolation``/the ``PolicyRule``, ``violation``), something the Application asks
for that is ignored (``Warning``/``UnsupportedField``, ``warning``), a path that renders no
object (``Warning``/``EmptyRender``, ``empty_render``). An Application is
validated when it is loaded, with its file and field, so no error of its own definition
reaches a reconcile.
"""

from __future__ import annotations

from enum import StrEnum

from engine.errors import ClusterError, ConfigError, FleetsyncError, RenderError, SourceError
from engine.model import ConditionReason, ConditionType, PolicyRule

Problem = tuple[ConditionType, ConditionReason | PolicyRule, str]  # type, reason, message


class Step(StrEnum):
    """The steps of a reconcile that can fail before anything is applied."""

    OPTIONS = "Options"  # the Application's sync options and diff rules
    RESOLVE = "Resolve"  # the revision to a commit
    RENDER = "Render"  # the commit to objects
    CLUSTER = "Cluster"  # reaching the cluster: discovery, comparison


_FAILED = {
    Step.OPTIONS: ConditionReason.INVALID_SPEC,
    Step.RESOLVE: ConditionReason.RESOLVE_FAILED,
    Step.RENDER: ConditionReason.RENDER_FAILED,
    Step.CLUSTER: ConditionReason.CLUSTER_FAILED,
}


def condition(step: Step, err: FleetsyncError, *, where: str = "") -> Problem:
    """The condition for ``err`` raised in ``step``; ``where`` names the Application and
    its file (``apps/web.yaml: Application web``) for errors of its definition."""
    message = str(err)
    if step is Step.OPTIONS:
        return definition(f"{where}: {message}" if where else message)
    if step is Step.RESOLVE and isinstance(err, SourceError):
        return ConditionType.COMPARISON_ERROR, ConditionReason.SOURCE_FAILED, message
    if step is Step.RENDER and isinstance(err, RenderError | SourceError):
        return ConditionType.COMPARISON_ERROR, ConditionReason.RENDER_FAILED, message
    if step is Step.CLUSTER and isinstance(err, ClusterError):
        reason = (ConditionReason.CLUSTER_UNAVAILABLE if err.temporary
                  else ConditionReason.CLUSTER_ERROR)  # fmt: skip
        return ConditionType.SYNC_ERROR, reason, message
    if step is Step.CLUSTER and isinstance(err, ConfigError):
        return ConditionType.SYNC_ERROR, ConditionReason.INVALID_CLUSTER, message
    return ConditionType.SYNC_ERROR, _FAILED[step], message


def definition(message: str) -> Problem:
    """The Application, or the project it names, cannot be used: ``message`` says why."""
    return ConditionType.INVALID_SPEC, ConditionReason.INVALID_SPEC, message


def violation(rule: PolicyRule, message: str) -> Problem:
    """The AppProject's ``rule`` forbids what the target declares."""
    return ConditionType.POLICY_VIOLATION, rule, message


def warning(message: str) -> Problem:
    """Something the Application asks for is ignored; nothing is blocked."""
    return ConditionType.WARNING, ConditionReason.UNSUPPORTED_FIELD, message


def empty_render(path: str) -> Problem:
    """The app's ``path`` renders no object: nothing is deployed, which is rarely meant."""
    return (ConditionType.WARNING, ConditionReason.EMPTY_RENDER,
            f"path {path or '.'!r} renders no objects (no manifests found); nothing is deployed")
