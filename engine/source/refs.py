"""Refs of a repository at one moment, and how a revision string is looked up in them.

Pure data and parsing. A revision is ``HEAD``, a full ref name (``refs/heads/main``), a
branch or tag name, or a full or abbreviated commit SHA. Like ``git rev-parse``, a name
is tried as a tag before a branch; a hex string that names a ref is the ref, not a SHA.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

HEADS = "refs/heads/"
TAGS = "refs/tags/"
_FULL_SHA = re.compile(r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")
_SHORT_SHA = re.compile(r"^[0-9a-f]{4,63}$")


class RevisionKind(enum.Enum):
    """What a revision string can name, judged from its spelling alone."""

    HEAD = "HEAD"
    FULL_SHA = "full-sha"
    SHORT_SHA = "short-sha"  # may also be a branch or tag name
    REF = "ref"


def classify_revision(revision: str) -> RevisionKind:
    """Whether ``revision`` is HEAD, a full SHA, a possible short SHA, or a ref name."""
    if revision in ("", "HEAD"):
        return RevisionKind.HEAD
    if _FULL_SHA.match(revision):
        return RevisionKind.FULL_SHA
    if _SHORT_SHA.match(revision):
        return RevisionKind.SHORT_SHA
    return RevisionKind.REF


@dataclass(frozen=True)
class RemoteRefs:
    """What ``git ls-remote --symref`` printed: ref -> object id, and where HEAD points."""

    refs: Mapping[str, str]
    head_target: str | None = None
    head_sha: str | None = None


@dataclass(frozen=True)
class RefSnapshot:
    """Branches and tags of a mirror (tags peeled to commits) and the remote's HEAD commit."""

    refs: Mapping[str, str] = field(default_factory=dict)
    head: str | None = None
    fetched_at: float = 0.0

    def lookup(self, revision: str) -> str | None:
        """The commit SHA a ref-like revision names here, or None (SHAs are not checked)."""
        if classify_revision(revision) is RevisionKind.HEAD:
            return self.head
        if revision.startswith("refs/"):
            return self.refs.get(revision)
        for prefix in (TAGS, HEADS):
            if (sha := self.refs.get(prefix + revision)) is not None:
                return sha
        return None


def parse_ls_remote(text: str) -> RemoteRefs:
    """Parse ``git ls-remote --symref`` output; peeled ``^{}`` lines are left out."""
    refs: dict[str, str] = {}
    head_target = head_sha = None
    for line in text.splitlines():
        left, _, name = line.partition("\t")
        if left.startswith("ref: "):
            if name == "HEAD":
                head_target = left.removeprefix("ref: ")
        elif name == "HEAD":
            head_sha = left
        elif name and not name.endswith("^{}"):
            refs[name] = left
    return RemoteRefs(refs, head_target, head_sha)


def parse_for_each_ref(text: str) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """Parse ``%(refname) %(objectname) %(objecttype) %(*objectname) %(*objecttype)`` lines.

    Returns (ref -> object id as stored, ref -> commit, refs needing a deeper peel).
    """
    stored: dict[str, str] = {}
    commits: dict[str, str] = {}
    deeper: list[str] = []
    for line in text.splitlines():
        name, oid, kind, peeled_oid, peeled_kind = [*line.split(" "), "", "", ""][:5]
        stored[name] = oid
        if kind == "commit":
            commits[name] = oid
        elif kind == "tag" and peeled_kind == "commit":
            commits[name] = peeled_oid
        elif kind == "tag" and peeled_kind == "tag":
            deeper.append(name)
    return stored, commits, deeper


def snapshot_of(
    commits: Mapping[str, str], remote: RemoteRefs, *, fetched_at: float
) -> RefSnapshot:
    """The snapshot of a mirror's refs, with HEAD taken from what the remote said."""
    head = commits.get(remote.head_target) if remote.head_target else None
    if head is None and remote.head_sha is not None and remote.head_target is None:
        head = remote.head_sha  # a detached HEAD on the remote
    return RefSnapshot(dict(commits), head, fetched_at)


def wanted(ref: str) -> bool:
    """Whether the mirror keeps this ref (branches and tags)."""
    return ref.startswith((HEADS, TAGS))
