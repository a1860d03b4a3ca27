"""One bare mirror of one remote, kept in step with it by a single flight of syncs.

A sync is one ``git ls-remote`` (cheap: no write, one round trip) and, only when a branch
or tag differs from the mirror, one ``git fetch --prune``. The ls-remote also says where
the remote's HEAD points, which a fetch alone cannot tell without failing on empty repos.

Single flight (``engine.asyncflight``): a caller joins the sync in flight, if any, else
starts one. It takes the resulting snapshot if that sync *started after* it asked (so it
reflects everything the caller may know about), or if the snapshot is younger than the
caller's ``max_age``; otherwise it joins or starts the next sync. N concurrent callers
therefore cause one sync, and a burst of forced refreshes (``max_age=0``, e.g. webhooks)
at most two. Syncs and fetches of single commits write the mirror one at a time (a lock).

Every fetch runs git's fsck over what it receives (``FETCH_CONFIG``, given on the command
line so that mirrors created before it are covered too): a tree naming one path twice, a
``.git`` or ``..`` entry, a malformed object is refused before it enters the mirror, as a
permanent ``UnsafeObjects``. Only complaints about commit and tag metadata (dates, e-mail
addresses, zero-padded modes) that old repositories carry, and that cannot change which
files a tree holds, are let through.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import anyio

from engine.asyncflight import AsyncSingleFlight
from engine.source.gitcmd import GitResult, fsck_refusal, run_git
from engine.source.refs import (
    HEADS,
    TAGS,
    RefSnapshot,
    parse_for_each_ref,
    parse_ls_remote,
    snapshot_of,
    wanted,
)

MAX_REFS_OUTPUT = 32 * 1024 * 1024  # ls-remote text: some 300,000 branches and tags
_REFSPECS = (f"+{HEADS}*:{HEADS}*", f"+{TAGS}*:{TAGS}*")
_FOR_EACH_REF_FORMAT = "%(refname) %(objectname) %(objecttype) %(*objectname) %(*objecttype)"
_MIRROR_CONFIG = {
    "gc.autoDetach": "false",  # a detached gc would outlive the process group we kill
    "maintenance.autoDetach": "false",
    "core.logAllRefUpdates": "false",
    "fetch.prune": "true",
}
_HARMLESS_FSCK = (
    "badDate", "badDateOverflow", "badEmail", "badTimezone", "missingEmail",
    "missingNameBeforeEmail", "missingSpaceBeforeDate", "missingSpaceBeforeEmail",
    "multipleAuthors", "nulInCommit", "zeroPaddedDate", "zeroPaddedFilemode",
    "badTagName", "missingTaggerEntry", "extraHeaderEntry",
)  # fmt: skip
FETCH_CONFIG = {
    "transfer.fsckObjects": "true",
    "fetch.fsckObjects": "true",
    **{f"fetch.fsck.{msg_id}": "ignore" for msg_id in _HARMLESS_FSCK},
}


@dataclass
class MirrorStats:
    """How many network calls a mirror made; read by tests and /metrics."""

    ls_remotes: int = 0
    fetches: int = 0


class Mirror:
    """A bare repository mirroring one remote URL (given to git without credentials)."""

    def __init__(
        self,
        *,
        path: Path,
        url: str,
        label: str,
        env: Mapping[str, str],
        secrets: tuple[str, ...],
        network_timeout: float,
        local_timeout: float,
    ) -> None:
        self.path = path
        self.url = url
        self.label = label
        self.stats = MirrorStats()
        self.snapshot: RefSnapshot | None = None
        # files in the whole tree of each commit listed lately (``tree``'s bounds, known)
        self.tree_sizes: OrderedDict[str, int] = OrderedDict()
        self._env = dict(env)
        self._secrets = secrets
        self._network_timeout = network_timeout
        self._local_timeout = local_timeout
        self._lock = anyio.Lock()  # one writer of the repository at a time
        self._syncs: AsyncSingleFlight[str, RefSnapshot] = AsyncSingleFlight()
        self._ready = False
        self._maybe_stale_locks = True

    async def git(
        self,
        *args: str,
        stdin: bytes | None = None,
        check: bool = True,
        network: bool = False,
        max_stdout: int | None = None,
    ) -> GitResult:
        """Run git in this mirror with the local or network timeout (fetches with fsck)."""
        return await run_git(
            args,
            repo=self.label,
            env={**self._env, "GIT_DIR": str(self.path)},
            time_limit=self._network_timeout if network else self._local_timeout,
            stdin=stdin,
            secrets=self._secrets,
            check=check,
            config=FETCH_CONFIG if args[:1] == ("fetch",) else None,
            max_stdout=max_stdout,
        )

    async def sync(self, *, max_age: float) -> RefSnapshot:
        """Refs as the remote has them, fetching at most once for all concurrent callers."""
        asked = anyio.current_time()
        while True:
            snap = self.snapshot
            if snap is not None and (
                snap.fetched_at >= asked or anyio.current_time() - snap.fetched_at <= max_age
            ):
                return snap
            await self._syncs.do("refs", self._locked_sync)

    async def _locked_sync(self) -> RefSnapshot:
        async with self._lock:
            self.snapshot = await self._sync()
            return self.snapshot

    async def commit_of(self, revision: str) -> str | None:
        """The full SHA of a commit already in the mirror, or None."""
        if not _exists(self.path / "HEAD"):
            return None
        result = await self.git(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}",
            check=False,
        )  # fmt: skip
        return result.stdout.decode().strip() if result.returncode == 0 else None

    async def fetch_commit(self, sha: str) -> bool:
        """Fetch one commit by full SHA (not reachable from a branch or tag); True if it came."""
        async with self._lock:
            await self._ensure_ready()
            self.stats.fetches += 1
            result = await self.git("fetch", "--quiet", "--no-tags", "origin", sha,
                                    network=True, check=False)  # fmt: skip
        if result.returncode != 0 and (refused := fsck_refusal(result.stderr, repo=self.label)):
            raise refused
        return await self.commit_of(sha) is not None

    async def _sync(self) -> RefSnapshot:
        await self._ensure_ready()
        started = anyio.current_time()
        self.stats.ls_remotes += 1
        listing = await self.git("ls-remote", "--symref", "origin", "HEAD", f"{HEADS}*",
                                 f"{TAGS}*", network=True, max_stdout=MAX_REFS_OUTPUT)  # fmt: skip
        remote = parse_ls_remote(listing.stdout.decode())
        stored, commits, deeper = await self._local_refs()
        if {r: oid for r, oid in remote.refs.items() if wanted(r)} != stored:
            await self._fetch()
            stored, commits, deeper = await self._local_refs()
        for ref in deeper:
            if (sha := await self.commit_of(ref)) is not None:
                commits[ref] = sha
        return snapshot_of(commits, remote, fetched_at=started)

    async def _fetch(self) -> None:
        if self._maybe_stale_locks:
            _remove_stale_locks(self.path)
        self.stats.fetches += 1
        self._maybe_stale_locks = True
        await self.git("fetch", "--quiet", "--prune", "--force", "--no-tags", "origin",
                       *_REFSPECS, network=True)  # fmt: skip
        self._maybe_stale_locks = False

    async def _local_refs(self) -> tuple[dict[str, str], dict[str, str], list[str]]:
        result = await self.git("for-each-ref", f"--format={_FOR_EACH_REF_FORMAT}", HEADS, TAGS)
        return parse_for_each_ref(result.stdout.decode())

    async def _ensure_ready(self) -> None:
        if self._ready:
            return
        if not _exists(self.path / "HEAD"):
            await self._create()
        await self.git("config", "remote.origin.url", self.url)
        self._ready = True

    async def _create(self) -> None:
        """Initialise the bare repository in a temporary directory, then move it in place."""
        tmp = _make_temp_dir(self.path.parent)
        try:
            env = {**self._env, "GIT_DIR": str(tmp)}
            await run_git(["init", "--bare", "--quiet", "--template="], repo=self.label,
                          env=env, time_limit=self._local_timeout)  # fmt: skip
            for key, value in _MIRROR_CONFIG.items():
                await run_git(["config", key, value], repo=self.label, env=env,
                              time_limit=self._local_timeout)  # fmt: skip
            os.replace(tmp, self.path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _remove_stale_locks(path: Path) -> None:
    """Delete lock files a killed git left behind; only this process writes this mirror."""
    for lock in [*path.glob("*.lock"), *path.glob("refs/**/*.lock")]:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()


def _exists(path: Path) -> bool:
    return path.exists()


def _make_temp_dir(parent: Path) -> Path:
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".init-", dir=parent))
