"""One mapping from (step, error) to the condition a target shows (pure).

A reconcile that stops before anything is applied records why as a condition: a type
(``ComparisonError``, ``SyncError``, ``InvalidSpecError``), a reason a program can match
and a message a user can act on. The step says what was being done, the error's class
what went wrong; together they name the real cause:

    step      error                          type              reason
    options   ConfigError                    InvalidSpecError  InvalidSpec   (names the file)
    resolve   SourceError                    ComparisonError   SourceFailed
    render    RenderError, SourceError       ComparisonError   RenderFailed
    cluster   ClusterError, temporary        SyncError         ClusterUnavailable
    cluster   ClusterError, permanent        SyncError         ClusterError
    cluster   ConfigError (registration)     SyncError         InvalidCluster
    any       anything else                  SyncError         <Step>Failed

Problems found without an exception (an invalid definition, a policy violation) are
written by their checks directly (``InvalidSpec``, ``PolicyViolation``).
"""

from __future__ import annotations

from enum import StrEnum

from engine.errors import ClusterError, ConfigError, FleetsyncError, RenderError, SourceError
from engine.hub import status as st

Problem = tuple[str, str, str]  # condition type, reason, message


class Step(StrEnum):
    """The steps of a reconcile that can fail before anything is applied."""

    OPTIONS = "Options"  # the Application's sync options and diff rules
    RESOLVE = "Resolve"  # the revision to a commit
    RENDER = "Render"  # the commit to objects
    CLUSTER = "Cluster"  # reaching the cluster: discovery, comparison


def condition(step: Step, err: FleetsyncError, *, where: str = "") -> Problem:
    """The condition for ``err`` raised in ``step``; ``where`` names the Application and
    its file (``apps/web.yaml: Application web``) for errors of its definition."""
    message = str(err)
    if step is Step.OPTIONS and isinstance(err, ConfigError):
        return st.INVALID_SPEC, "InvalidSpec", f"{where}: {message}" if where else message
    if step is Step.RESOLVE and isinstance(err, SourceError):
        return st.COMPARISON_ERROR, "SourceFailed", message
    if step is Step.RENDER and isinstance(err, RenderError | SourceError):
        return st.COMPARISON_ERROR, "RenderFailed", message
    if step is Step.CLUSTER and isinstance(err, ClusterError):
        return st.SYNC_ERROR, "ClusterUnavailable" if err.temporary else "ClusterError", message
    if step is Step.CLUSTER and isinstance(err, ConfigError):
        return st.SYNC_ERROR, "InvalidCluster", message
    return st.SYNC_ERROR, f"{step.value}Failed", message
