"""Applications from Git entries of ``apps:``, driven by their own Git poller.

Each Git entry is read once per commit (``read_files`` at the commit its revision names)
and then watched by a ``GitPoller`` over the apps' own mirrors: one ``ls-remote`` per
repository per poll interval, and a re-read only when the revision moved and a changed
file lies under the entry's path. Nothing is resolved or read between polls.

An entry whose repository cannot be polled or read is a failed source (its apps keep
their last definitions, the error is shown with the source's errors, logged once); it is
read again as soon as a poll of its repository succeeds.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from engine.apps import AppSource
from engine.apps.appsets import Listing
from engine.config.hub import AppsFromGit, HubConfig
from engine.errors import FleetsyncError
from engine.hub.catalog import failed_git_source, git_app_source
from engine.model import TargetKey
from engine.model.reconciles import Trigger
from engine.redaction import redact, redact_url
from engine.source import GitSource
from engine.source.poller import GitPoller, Watch

log = logging.getLogger(__name__)


@dataclass
class _Entry:
    index: int
    spec: AppsFromGit
    sha: str | None = None  # the commit last read
    source: AppSource | None = None  # what was read there
    error: str | None = None  # why the last poll or read failed
    stale: bool = True  # to be read (never read, or the poller saw it move)
    polls: int = 0  # the repository's poll count at the last read

    @property
    def key(self) -> TargetKey:
        """The entry's name in the poller (which watches targets, so a target-shaped key)."""
        return TargetKey(f"apps[{self.index}]", "")

    @property
    def state(self) -> tuple[str | None, str | None]:
        return self.sha, self.error


class GitAppSources:
    """The Git entries of ``apps:`` as ``AppSource``s, re-read when their poller says so."""

    def __init__(self, config: HubConfig, source: GitSource) -> None:
        self._config = config
        self._source = source
        self.poller = GitPoller(source, self._moved, interval=config.git.poll_interval)
        self.changed = asyncio.Event()  # set when the poller saw an entry move
        self._entries = [_Entry(index, entry) for index, entry in enumerate(config.apps)
                         if isinstance(entry, AppsFromGit)]  # fmt: skip
        self._listings: dict[tuple[str, str], Listing] = {}
        self._listing_errors: dict[tuple[str, str], str] = {}

    async def sources(self) -> tuple[dict[int, AppSource], bool]:
        """Every Git entry's source by its index in ``apps:``, and whether any changed."""
        self.changed.clear()
        found: dict[int, AppSource] = {}
        moved = False
        for entry in self._entries:
            before = entry.state
            status = self.poller.status(entry.spec.repo)
            if status is not None and status.last_error is not None:
                self._failed(entry, status.last_error)
            elif entry.stale or (entry.error is not None and status is not None
                                 and status.polls > entry.polls):  # a poll since it failed
                await self._read(entry)
            moved = moved or entry.state != before
            found[entry.index] = self._shown(entry)
        return found, moved

    async def listings(
        self, wanted: frozenset[tuple[str, str]]
    ) -> tuple[dict[tuple[str, str], Listing], bool]:
        """What ApplicationSet git generators read: each wanted (repository, revision) at
        its commit now, read again when the revision moved (resolved at most every
        ``git.pollInterval``); whether any changed. One that cannot be read keeps its last
        listing (or stays unread) and is logged once."""
        moved = False
        for pair in sorted(wanted):
            repo, revision = pair
            try:
                sha = await self._source.resolve(repo=repo, revision=revision,
                                                 max_age=self._config.git.poll_interval)
                kept = self._listings.get(pair)
                if kept is None or kept.sha != sha:
                    files = await self._source.read_files(repo=repo, sha=sha)
                    self._listings[pair] = Listing(sha, {path: f.data for path, f in
                                                         files.items() if not f.is_symlink})
                    moved = True
                self._listing_errors.pop(pair, None)
            except Exception as err:  # this generator's problem, not the hub's
                reason = redact(describe(err))
                if self._listing_errors.get(pair) != reason:
                    log.warning("ApplicationSet git generator %s: %s", redact_url(repo), reason)
                self._listing_errors[pair] = reason
        for pair in set(self._listings) - wanted:
            del self._listings[pair]
        return dict(self._listings), moved

    async def _read(self, entry: _Entry) -> None:
        spec = entry.spec
        status = self.poller.status(spec.repo)
        entry.stale, entry.polls = False, status.polls if status else 0
        try:
            sha = await self._source.resolve(repo=spec.repo, revision=spec.revision,
                                             max_age=self._config.git.poll_interval)
            if sha != entry.sha or entry.source is None:
                files = await self._source.read_files(repo=spec.repo, sha=sha, path=spec.path)
                entry.source = git_app_source(entry.index, spec, sha, files)
            entry.sha, entry.error = sha, None
        except Exception as err:  # unreachable, or anything else: this entry's problem
            self._failed(entry, describe(err))
            return
        paths = frozenset({spec.path.strip("/")})
        self.poller.watch(spec.repo, Watch(entry.key, spec.revision, paths), at=entry.sha)

    def _failed(self, entry: _Entry, error: str) -> None:
        reason = redact(error)
        if entry.error != reason:  # once, not every round
            log.warning("apps from %s: %s", redact_url(entry.spec.repo), reason)
        entry.error = reason
        if self.poller.status(entry.spec.repo) is None:  # never watched: poll it from now on
            self.poller.watch(entry.spec.repo, Watch(entry.key, entry.spec.revision))

    def _shown(self, entry: _Entry) -> AppSource:
        if entry.error is not None or entry.source is None:
            return failed_git_source(entry.index, entry.spec, entry.error or "not read yet")
        return entry.source

    def _moved(self, key: TargetKey, trigger: Trigger) -> bool:
        """The poller saw the revision of entry ``key`` move under its path: read it."""
        for entry in self._entries:
            if entry.key == key:
                entry.stale = True
                self.changed.set()
        return True


def describe(err: BaseException) -> str:
    """An error for a log line: our own errors by message, others by type too."""
    return str(err) if isinstance(err, FleetsyncError) else f"{type(err).__name__}: {err}"
