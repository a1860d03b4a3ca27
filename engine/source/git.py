"""GitSource: the mirrors of every repository the hub reads, in one cache directory.

Before any git process runs for an address, it must pass ``check_transport`` (no local
repository unless ``allow_local``, no remote helper) and is given its *access*
(``engine.source.access``): a mirror is shared only by callers that present the same
credential for the same repository. Mirrors made before access keys existed (layout 1,
filled by whoever came first and fetched without fsck) are removed once, at first use.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

from engine.redaction import redact_url
from engine.repourls import check_transport, is_file_url
from engine.source import tree
from engine.source.access import Access, access_of
from engine.source.credentials import ASKPASS_SCRIPT, CredentialStore, credential_env
from engine.source.errors import InvalidRepository, RevisionNotFound
from engine.source.gitcmd import base_env
from engine.source.mirror import Mirror, MirrorStats
from engine.source.refs import RefSnapshot, RevisionKind, classify_revision

NETWORK_PROTOCOLS = "git:http:https:ssh"
_LAYOUT = "2"
MAX_ACCESSES = 4096  # repository URLs whose access is remembered (then forgotten at once)


class GitSource:
    """Bare mirrors under ``cache_dir``, one per access (repository URL and credential).

    One instance owns its cache directory; several processes must not share one.
    """

    def __init__(
        self,
        cache_dir: Path,
        *,
        credentials: CredentialStore | None = None,
        network_timeout: float = 60.0,
        local_timeout: float = 10.0,
        freshness: float = 5.0,
        max_tree_bytes: int = tree.DEFAULT_MAX_TREE_BYTES,
        max_tree_files: int = tree.DEFAULT_MAX_TREE_FILES,
        allow_local: bool = False,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.credentials = credentials or CredentialStore()
        self.network_timeout = network_timeout
        self.local_timeout = local_timeout
        self.freshness = freshness
        self.max_tree_bytes = max_tree_bytes
        self.max_tree_files = max_tree_files
        self.allow_local = allow_local
        self._mirrors: dict[str, Mirror] = {}
        # Each repository URL's access, with the credentials (and their generation) it was
        # found with: every reconcile asks, and finding it matches prefixes and hashes twice.
        self._accesses: dict[str, tuple[CredentialStore, int, Access]] = {}
        self._private = self.cache_dir / ".fleetsync"
        self._salt: bytes | None = None

    async def refresh(self, *, repo: str, max_age: float | None = None) -> RefSnapshot:
        """Branches, tags and HEAD of ``repo``, synced unless the last sync is recent enough.

        The scheduler calls this once per repository per poll; ``max_age=0`` forces a sync
        (still shared with concurrent callers).
        """
        return await self._mirror(repo).sync(max_age=self._max_age(max_age))

    async def resolve(self, *, repo: str, revision: str, max_age: float | None = None) -> str:
        """The full commit SHA that a branch, tag, SHA, abbreviated SHA or ``HEAD`` names."""
        mirror = self._mirror(repo)
        snapshot = await mirror.sync(max_age=self._max_age(max_age))
        if (sha := snapshot.lookup(revision)) is not None:
            return sha
        kind = classify_revision(revision)
        if kind in (RevisionKind.FULL_SHA, RevisionKind.SHORT_SHA):
            if (sha := await mirror.commit_of(revision)) is not None:
                return sha
            if kind is RevisionKind.FULL_SHA and await mirror.fetch_commit(revision):
                return revision
        what = (
            "HEAD (the remote has no default branch)"
            if kind is RevisionKind.HEAD
            else f"revision {revision!r}"
        )
        raise RevisionNotFound(f"{what} names no branch, tag or commit", repo=mirror.label)

    async def read_files(self, *, repo: str, sha: str, path: str = "") -> dict[str, tree.TreeFile]:
        """Every file under ``path`` at commit ``sha``, keyed by path from the repository root."""
        return await tree.read_files(self._mirror(repo), sha=sha, path=path,
                                     max_bytes=self.max_tree_bytes,
                                     max_files=self.max_tree_files)  # fmt: skip

    async def materialise(self, *, repo: str, sha: str, dest: Path, path: str = "") -> None:
        """Write the files under ``path`` at ``sha`` into the new directory ``dest``."""
        await tree.materialise(self._mirror(repo), sha=sha, dest=dest, path=path,
                               max_bytes=self.max_tree_bytes,
                               max_files=self.max_tree_files)  # fmt: skip

    async def rematerialise(self, *, repo: str, sha: str, dest: Path, old_sha: str) -> None:
        """Turn ``dest``, the whole tree of ``old_sha`` written by ``materialise``, into the
        tree of ``sha`` by writing only the files that differ."""
        await tree.rematerialise(self._mirror(repo), sha=sha, dest=dest, old_sha=old_sha,
                                 max_bytes=self.max_tree_bytes,
                                 max_files=self.max_tree_files)  # fmt: skip

    async def changed_paths(self, *, repo: str, old_sha: str, new_sha: str) -> frozenset[str]:
        """Paths of files that differ between two commits of ``repo``."""
        return await tree.changed_paths(self._mirror(repo), old_sha=old_sha, new_sha=new_sha,
                                        max_files=self.max_tree_files)  # fmt: skip

    def access_key(self, repo: str) -> str:
        """What ``repo`` is read as: a hash of its normalised URL and the credential it uses.

        Callers that share what they read from Git (commit trees, polls) key it by this, so
        nobody reads what was fetched with a credential they did not present.
        """
        return self._access(repo).key

    def stats(self, repo: str) -> MirrorStats:
        """Counts of network calls made for ``repo`` by this instance."""
        return self._mirror(repo).stats

    def mirror_path(self, repo: str) -> Path:
        """The directory of the bare mirror that ``repo`` reads (per access)."""
        return self.cache_dir / "mirrors" / f"{self.access_key(repo)}.git"

    def _max_age(self, max_age: float | None) -> float:
        return self.freshness if max_age is None else max_age

    def _access(self, repo: str) -> Access:
        store = self.credentials
        known = self._accesses.get(repo)
        if known is not None and known[0] is store and known[1] == store.generation:
            return known[2]
        try:
            access = access_of(repo, store, salt=self._hub_salt())
        except ValueError as exc:
            raise InvalidRepository(str(exc), repo=redact_url(repo)) from None
        if len(self._accesses) >= MAX_ACCESSES:
            self._accesses.clear()
        self._accesses[repo] = (store, store.generation, access)
        return access

    def _mirror(self, repo: str) -> Mirror:
        check_transport(repo, allow_local=self.allow_local)  # before any git process runs
        access = self._access(repo)
        mirror = self._mirrors.get(access.key)
        if mirror is None:
            mirror = self._mirrors[access.key] = self._new_mirror(repo, access)
        return mirror

    def _new_mirror(self, repo: str, access: Access) -> Mirror:
        creds = access.credentials
        local = self.allow_local and is_file_url(repo)
        env = base_env(self._private / "home",
                       allow_protocols="file" if local else NETWORK_PROTOCOLS)  # fmt: skip
        env |= credential_env(creds, askpass=self._private / "askpass",
                              known_hosts=self._private / "known_hosts")  # fmt: skip
        secrets_ = (*self.credentials.secrets(), *(creds.secrets() if creds else ()))
        return Mirror(
            path=self.mirror_path(repo),
            url=access.fetch_url,
            label=redact_url(repo),
            env=env,
            secrets=secrets_,
            network_timeout=self.network_timeout,
            local_timeout=self.local_timeout,
        )

    def _hub_salt(self) -> bytes:
        if self._salt is None:
            self._prepare()
            self._salt = (self._private / "salt").read_bytes()
        return self._salt

    def _prepare(self) -> None:
        """Private files of this cache: git's HOME, the askpass helper, the salt, the layout."""
        (self._private / "home").mkdir(parents=True, exist_ok=True, mode=0o700)
        self._private.chmod(0o700)
        askpass = self._private / "askpass"
        if not askpass.exists() or askpass.read_text() != ASKPASS_SCRIPT:
            _replace(askpass, ASKPASS_SCRIPT.encode(), mode=0o700)
        if not (self._private / "salt").exists():
            _replace(self._private / "salt", secrets.token_bytes(32), mode=0o600)
        layout = self._private / "layout"
        if not layout.exists() or layout.read_text().strip() != _LAYOUT:
            shutil.rmtree(self.cache_dir / "mirrors", ignore_errors=True)
            _replace(layout, f"{_LAYOUT}\n".encode(), mode=0o600)


def _replace(path: Path, data: bytes, *, mode: int) -> None:
    """Write ``path`` whole, readable by nobody else at any moment."""
    tmp = path.with_suffix(f".{os.getpid()}")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)
