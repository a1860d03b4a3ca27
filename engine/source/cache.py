"""GitSource: the mirrors of every repository the hub reads, in one cache directory."""

from __future__ import annotations

import os
from pathlib import Path

from engine.source import tree
from engine.source.credentials import ASKPASS_SCRIPT, Credentials, CredentialStore, credential_env
from engine.source.errors import InvalidRepository, RevisionNotFound
from engine.source.gitcmd import base_env
from engine.source.mirror import Mirror, MirrorStats
from engine.source.refs import RefSnapshot, RevisionKind, classify_revision
from engine.source.urls import (
    is_file_url,
    mirror_name,
    normalise_url,
    redact_url,
    split_credentials,
)

NETWORK_PROTOCOLS = "git:http:https:ssh"


class GitSource:
    """Bare mirrors under ``cache_dir``, one per normalised repository URL.

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
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.credentials = credentials or CredentialStore()
        self.network_timeout = network_timeout
        self.local_timeout = local_timeout
        self.freshness = freshness
        self.max_tree_bytes = max_tree_bytes
        self._mirrors: dict[str, Mirror] = {}
        self._private = self.cache_dir / ".fleetsync"

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
        return await tree.read_files(
            self._mirror(repo), sha=sha, path=path, max_bytes=self.max_tree_bytes
        )

    async def materialise(self, *, repo: str, sha: str, dest: Path, path: str = "") -> None:
        """Write the files under ``path`` at ``sha`` into the new directory ``dest``."""
        await tree.materialise(self._mirror(repo), sha=sha, dest=dest, path=path)

    async def changed_paths(self, *, repo: str, old_sha: str, new_sha: str) -> frozenset[str]:
        """Paths of files that differ between two commits of ``repo``."""
        return await tree.changed_paths(self._mirror(repo), old_sha=old_sha, new_sha=new_sha)

    def stats(self, repo: str) -> MirrorStats:
        """Counts of network calls made for ``repo`` by this instance."""
        return self._mirror(repo).stats

    def mirror_path(self, repo: str) -> Path:
        """The directory of the bare mirror of ``repo``."""
        return self.cache_dir / "mirrors" / mirror_name(repo)

    def _max_age(self, max_age: float | None) -> float:
        return self.freshness if max_age is None else max_age

    def _mirror(self, repo: str) -> Mirror:
        try:
            key = normalise_url(repo)
        except ValueError as exc:
            raise InvalidRepository(str(exc), repo=redact_url(repo)) from None
        mirror = self._mirrors.get(key)
        if mirror is None:
            mirror = self._mirrors[key] = self._new_mirror(repo)
        return mirror

    def _new_mirror(self, repo: str) -> Mirror:
        self._prepare_private_dir()
        fetch = split_credentials(repo)
        creds = self.credentials.lookup(repo)
        if fetch.password is not None or (fetch.username and creds is None):
            creds = Credentials(username=fetch.username, password=fetch.password)
        protocols = "file" if is_file_url(repo) else NETWORK_PROTOCOLS
        env = base_env(self._private / "home", allow_protocols=protocols)
        env |= credential_env(creds, askpass=self._private / "askpass",
                              known_hosts=self._private / "known_hosts")  # fmt: skip
        secrets = (*self.credentials.secrets(), *(creds.secrets() if creds else ()))
        return Mirror(
            path=self.mirror_path(repo),
            url=fetch.url,
            label=redact_url(repo),
            env=env,
            secrets=secrets,
            network_timeout=self.network_timeout,
            local_timeout=self.local_timeout,
        )

    def _prepare_private_dir(self) -> None:
        (self._private / "home").mkdir(parents=True, exist_ok=True, mode=0o700)
        askpass = self._private / "askpass"
        if not askpass.exists() or askpass.read_text() != ASKPASS_SCRIPT:
            tmp = askpass.with_suffix(f".{os.getpid()}")
            tmp.write_text(ASKPASS_SCRIPT)
            tmp.chmod(0o700)
            os.replace(tmp, askpass)
