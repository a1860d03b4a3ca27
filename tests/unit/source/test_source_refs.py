"""Revision classification, ls-remote / for-each-ref parsing and ref lookup (pure)."""

import pytest

from engine.source.refs import (
    RefSnapshot,
    RemoteRefs,
    RevisionKind,
    classify_revision,
    parse_for_each_ref,
    parse_ls_remote,
    snapshot_of,
)

A = "a" * 40
B = "b" * 40
T = "c" * 40


@pytest.mark.parametrize(
    ("revision", "kind"),
    [
        ("HEAD", RevisionKind.HEAD),
        ("", RevisionKind.HEAD),
        (A, RevisionKind.FULL_SHA),
        ("f" * 64, RevisionKind.FULL_SHA),
        ("abc1234", RevisionKind.SHORT_SHA),
        ("cafe", RevisionKind.SHORT_SHA),
        ("abc", RevisionKind.REF),
        ("main", RevisionKind.REF),
        ("v1.2.3", RevisionKind.REF),
        ("ABC1234", RevisionKind.REF),
        ("refs/heads/main", RevisionKind.REF),
    ],
)
def test_classify_revision(revision: str, kind: RevisionKind) -> None:
    assert classify_revision(revision) is kind


def test_parse_ls_remote_reads_head_symref_and_skips_peeled_lines() -> None:
    text = (
        f"ref: refs/heads/main\tHEAD\n{A}\tHEAD\n{A}\trefs/heads/main\n"
        f"{T}\trefs/tags/v1\n{B}\trefs/tags/v1^{{}}\n"
    )
    remote = parse_ls_remote(text)
    assert remote.head_target == "refs/heads/main"
    assert remote.head_sha == A
    assert remote.refs == {"refs/heads/main": A, "refs/tags/v1": T}


def test_parse_ls_remote_of_empty_repository() -> None:
    assert parse_ls_remote("") == RemoteRefs({}, None, None)


def test_parse_for_each_ref_peels_annotated_tags() -> None:
    text = (
        f"refs/heads/main {A} commit  \n"
        f"refs/tags/light {A} commit  \n"
        f"refs/tags/annotated {T} tag {B} commit\n"
        f"refs/tags/nested {T} tag {T} tag\n"
        f"refs/tags/tree {T} tag {B} tree\n"
    )
    stored, commits, deeper = parse_for_each_ref(text)
    assert stored["refs/tags/annotated"] == T
    assert commits == {"refs/heads/main": A, "refs/tags/light": A, "refs/tags/annotated": B}
    assert deeper == ["refs/tags/nested"]


def test_snapshot_head_follows_the_remote_symref() -> None:
    remote = RemoteRefs({"refs/heads/main": A}, "refs/heads/main", A)
    snap = snapshot_of({"refs/heads/main": B}, remote, fetched_at=1.0)
    assert snap.head == B  # the mirror's view, consistent with its objects


def test_snapshot_of_detached_remote_head() -> None:
    snap = snapshot_of({}, RemoteRefs({}, None, A), fetched_at=0)
    assert snap.head == A


def test_snapshot_of_empty_remote_has_no_head() -> None:
    assert snapshot_of({}, RemoteRefs({}), fetched_at=0).head is None


SNAP = RefSnapshot({"refs/heads/main": A, "refs/heads/v1": B, "refs/tags/v1": T}, head=A)


@pytest.mark.parametrize(
    ("revision", "sha"),
    [
        ("HEAD", A),
        ("main", A),
        ("refs/heads/main", A),
        ("refs/heads/v1", B),
        ("v1", T),  # a tag wins over a branch of the same name, as in git
        ("missing", None),
        (A, None),  # SHAs are checked against the object store, not here
    ],
)
def test_snapshot_lookup(revision: str, sha: str | None) -> None:
    assert SNAP.lookup(revision) == sha
