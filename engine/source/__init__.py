"""Git sources: one bare mirror per repository, commits resolved to SHAs, files read by SHA.

Git runs as an async subprocess (anyio) with a clean environment and a timeout on every
call; a timeout kills git's whole process group. Nothing here checks out a working tree:
files are read from the object store, so any number of commits can be read at once.

Usage::

    source = GitSource(Path("/var/cache/fleetsync/git"),
                       credentials=CredentialStore({"https://github.com/acme":
                                                    Credentials.token(token)}))
    refs = await source.refresh(repo=url)             # once per repo per poll
    sha = await source.resolve(repo=url, revision="main")  # uses that sync
    files = await source.read_files(repo=url, sha=sha, path="overlays/dev")
    await source.materialise(repo=url, sha=sha, dest=tmp / "tree")
    paths = await source.changed_paths(repo=url, old_sha=old, new_sha=sha)

API (all async methods take keyword arguments only):

- ``GitSource(cache_dir, *, credentials, network_timeout=60, local_timeout=10,
  freshness=5, max_tree_bytes=128 MiB, max_tree_files=20_000, allow_local=False)``: the
  mirrors of one hub, under ``cache_dir/mirrors/`` (one directory per access key; no
  credential is ever written there).
- ``access_key(repo) -> str``: what ``repo`` is read as: a hash of its normalised URL and
  the identity of the credential it uses (none, the URL's own user:password, or the
  operator's entry). Whatever is shared between apps (mirrors, commit trees, polls) is
  keyed by it, so nobody reads what another credential fetched.
- ``refresh(repo=, max_age=None) -> RefSnapshot``: ``refs`` (``refs/heads/*`` and
  ``refs/tags/*`` -> commit SHA, annotated tags peeled) and ``head``. One ``ls-remote``,
  plus one ``fetch`` only if a ref changed. Concurrent callers share one sync; a snapshot
  younger than ``max_age`` (default ``freshness``) is reused without network.
- ``resolve(repo=, revision=, max_age=None) -> str``: ``HEAD``, a branch, a tag, a full ref
  name, a full or abbreviated SHA -> full commit SHA. Tags win over branches of the same
  name (as in git). Raises ``RevisionNotFound`` (permanent).
- ``read_files(repo=, sha=, path="") -> dict[str, TreeFile]``: files under ``path`` keyed by
  their path from the repository root; ``TreeFile.is_symlink`` marks links (``data`` is the
  target). ``link_target`` tells where a link points, or None if it leaves the root.
- ``materialise(repo=, sha=, dest=, path="")``: writes those files into the new directory
  ``dest``, never through a symlink; refuses (and removes ``dest``) if a symlink resolves
  outside it.
- ``rematerialise(repo=, sha=, dest=, old_sha=)``: turns ``dest``, a whole tree of
  ``old_sha`` written by ``materialise``, into the tree of ``sha``, writing only the files
  the two commits differ in (the new listing is checked as a whole, links resolved again).
- ``changed_paths(repo=, old_sha=, new_sha=) -> frozenset[str]``; ``touches(changed, paths)``
  says whether an app whose sources live under ``paths`` must be re-rendered.
- ``stats(repo) -> MirrorStats`` (``ls_remotes``, ``fetches``): network calls made.

``poller.GitPoller`` (imported from ``engine.source.poller``) polls every watched
repository on its own schedule through one ``GitSource`` and queues the keys whose
revision moved and whose paths changed.

Guards against hostile repositories and addresses:

- Transports: https, http, ssh and git only; ``file://`` URLs and absolute paths only with
  ``allow_local=True`` (``git.allowLocalRepos``), since they read any repository on the
  hub's disk; remote helpers (``ext::``, ``fd::``), relative paths and hosts or users
  starting with ``-`` never. Refused before any git process runs (``InvalidRepository``;
  ``engine.repourls.check_transport``, where repository URLs are also normalised).
- Credentials: a mirror is filled and read only through one access (see ``access_key``).
- Objects: every fetch runs git's fsck on what it receives; a refusal (a tree listing one
  name twice, a ``.git`` entry...) is the permanent ``UnsafeObjects``.
- Trees: at most ``max_tree_files`` files and ``max_tree_bytes`` bytes, checked from the
  listing before any blob is read; no path listed twice or below a file or symlink, no
  ``..`` or ``.git`` component; written with no-follow opens relative to each directory.

Credentials: ``CredentialStore`` maps a URL or URL prefix to ``Credentials`` (HTTPS
user + password/token, or an SSH key file and known_hosts); the longest prefix wins, and
``user:password@`` written in a repository URL wins over the store. Secrets reach git only
through the child's environment (``GIT_ASKPASS`` helper); URLs shown anywhere are redacted.

Errors are the ``SourceError`` branch of ``engine.errors`` (re-exported here and from
``engine.source.errors``): ``RemoteUnreachable`` and ``GitTimeout`` are temporary;
``AuthenticationFailed``, ``GitOutputTooLarge``, ``InvalidRepository``,
``RevisionNotFound``, ``PathNotFound``, ``UnsafeTree`` and its ``UnsafeObjects`` are
permanent.
"""

from engine.source.credentials import Credentials, CredentialStore
from engine.source.errors import (
    AuthenticationFailed,
    GitError,
    GitTimeout,
    InvalidRepository,
    PathNotFound,
    RemoteUnreachable,
    RevisionNotFound,
    UnsafeObjects,
    UnsafeTree,
)
from engine.source.git import GitSource
from engine.source.mirror import MirrorStats
from engine.source.refs import RefSnapshot
from engine.source.tree import TreeFile, link_target, touches

__all__ = [
    "AuthenticationFailed",
    "CredentialStore",
    "Credentials",
    "GitError",
    "GitSource",
    "GitTimeout",
    "InvalidRepository",
    "MirrorStats",
    "PathNotFound",
    "RefSnapshot",
    "RemoteUnreachable",
    "RevisionNotFound",
    "TreeFile",
    "UnsafeObjects",
    "UnsafeTree",
    "link_target",
    "touches",
]
