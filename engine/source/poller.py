"""Git polling per repository, not per app: one ``refresh`` tells every app of a repo.

A "repository" here is one *access* (``GitSource.access_key``): a URL and the credential it
is read with. Apps that reach one URL with different credentials are polled separately
(each through its own mirror), so no app learns of commits through another's credential;
apps that share the access share every poll. A push webhook names a URL: it polls every
watched access of that URL.

Each poll of a repository is one ``GitSource.refresh`` (one ``ls-remote``, plus one fetch
only if a ref moved), one ``resolve`` per distinct watched revision (read from that
refresh, no network) and one ``changed_paths`` per distinct (old, new) pair. A watched key
is queued only when its revision now names another commit *and* a changed file lies under
one of its paths; when that cannot be known (first sight of the key, a revision that no
longer resolves, a diff that fails, e.g. after a force push) the key is queued anyway.

A watch's ``paths`` must cover everything its render reads: the app's path and every base
it references (``overlays/dev`` reads ``base``). Pass ``""`` (the root) when unknown.

Repositories are polled independently: a failing or hanging one (every poll is bounded by
``poll_timeout``) records its error and backs off, and the others keep their schedule.
``trigger(repo=)`` polls at once (webhooks); triggers that arrive before that poll starts
share it, and one arriving during a poll causes exactly one more poll after it.

Keys are handed to ``enqueue`` (the scheduler's ``WorkQueue.add``) with a ``Trigger``;
nothing here imports the scheduler.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from engine.backoff import Backoff, jittered
from engine.clock import Clock, MonotonicClock
from engine.errors import FleetsyncError
from engine.model import TargetKey
from engine.model.reconciles import Trigger
from engine.redaction import redact_url
from engine.repourls import normalise_url
from engine.source.git import GitSource
from engine.source.refs import HEADS, TAGS, RevisionKind, classify_revision
from engine.source.tree import touches

log = logging.getLogger(__name__)

Enqueue = Callable[[TargetKey, Trigger], bool]
DEFAULT_POLL_INTERVAL = 180.0
DEFAULT_POLL_TIMEOUT = 120.0
_UNRESOLVED = "!"  # marks a revision that did not resolve at the last poll


@dataclass(frozen=True)
class Watch:
    """One key's interest in a repository: the revision it follows and the paths it reads."""

    key: TargetKey
    revision: str = "HEAD"
    paths: frozenset[str] = frozenset({""})


@dataclass
class RepoStatus:
    """What the last polls of one repository did (URL shown redacted)."""

    url: str
    polls: int = 0
    failures: int = 0
    last_error: str | None = None
    last_success: float | None = None
    next_poll: float = 0.0


@dataclass
class _Repo:
    url: str
    name: str  # the normalised URL, which webhooks match
    status: RepoStatus
    watches: dict[TargetKey, Watch] = field(default_factory=dict)
    seen: dict[TargetKey, str] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    pending: asyncio.Future[int] | None = None
    scheduled: bool = False


def ref_may_move(revision: str, ref: str) -> bool:
    """Whether a push to ``ref`` can change what ``revision`` names (True when unsure)."""
    if not ref or classify_revision(revision) is not RevisionKind.REF:
        return True  # HEAD's branch is unknown here; a pushed SHA may have become fetchable
    if revision.startswith("refs/"):
        return revision == ref
    return ref in (HEADS + revision, TAGS + revision)


class GitPoller:
    """Polls every watched repository on its own schedule and queues the keys that moved."""

    def __init__(
        self,
        source: GitSource,
        enqueue: Enqueue,
        *,
        interval: float = DEFAULT_POLL_INTERVAL,
        poll_timeout: float = DEFAULT_POLL_TIMEOUT,
        backoff: Backoff | None = None,
        max_parallel: int = 8,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.source = source
        self.interval = interval
        self.poll_timeout = poll_timeout
        self.backoff = backoff or Backoff(duration=5.0, factor=2.0, max_duration=300.0)
        self.clock = clock or MonotonicClock()
        self._enqueue = enqueue
        self._rng = rng or random.Random()
        self._repos: dict[str, _Repo] = {}
        self._parallel = asyncio.Semaphore(max_parallel)
        self._changed = asyncio.Event()
        self._stopping = False

    # -- what to watch ----------------------------------------------------------------------

    def set_watches(self, watches: Mapping[str, Iterable[Watch]]) -> None:
        """Replace every watch: repository URL -> the watches of that repository."""
        wanted: dict[str, tuple[str, list[Watch]]] = {}
        for url, items in watches.items():
            wanted.setdefault(self._key(url), (url, []))[1].extend(items)
        for name in set(self._repos) - set(wanted):
            del self._repos[name]
        for name, (url, items) in wanted.items():
            repo = self._repo(name, url)
            repo.watches = {w.key: w for w in items}
            repo.seen = {k: v for k, v in repo.seen.items() if k in repo.watches}
        self._changed.set()

    def watch(self, repo: str, watch: Watch, *, at: str | None = None) -> None:
        """Add or change one key's watch of ``repo``; ``at`` is the commit it already has
        (so the next poll queues it only once its revision moves past that commit)."""
        state = self._repo(self._key(repo), repo)
        state.watches[watch.key] = watch
        if at is not None:
            state.seen[watch.key] = at
        self._changed.set()

    def unwatch(self, key: TargetKey) -> None:
        """Remove every watch of ``key``; a repository left without watches is dropped."""
        for name, repo in list(self._repos.items()):
            repo.watches.pop(key, None)
            repo.seen.pop(key, None)
            if not repo.watches:
                del self._repos[name]

    def status(self, repo: str) -> RepoStatus | None:
        """The poll status of ``repo`` (as read with its credential), or None if unwatched."""
        state = self._repos.get(self._key(repo))
        return state.status if state else None

    @property
    def repos(self) -> frozenset[str]:
        """Normalised URLs of the watched repositories."""
        return frozenset(state.name for state in self._repos.values())

    # -- polling ----------------------------------------------------------------------------

    async def trigger(self, *, repo: str) -> int:
        """Poll ``repo`` at once with webhook priority; how many keys were queued."""
        state = self._repos.get(self._key(repo))
        return 0 if state is None else await self._trigger(state)

    async def on_push(self, *, repo_urls: Iterable[str], ref: str) -> int:
        """Poll every watched access of each URL among ``repo_urls`` that ``ref`` may concern."""
        names = {n for n in (_normalised(u) for u in repo_urls) if n is not None}
        targets = [
            state
            for state in self._repos.values()
            if state.name in names
            and any(ref_may_move(w.revision, ref) for w in state.watches.values())
        ]
        async with asyncio.TaskGroup() as tg:
            tasks = [tg.create_task(self._trigger(state)) for state in targets]
        return sum(t.result() for t in tasks)

    async def poll(self, *, repo: str, trigger: Trigger = Trigger.PERIODIC) -> int:
        """Poll ``repo`` now; how many keys were queued (0 on error, see ``status``)."""
        state = self._repos.get(self._key(repo))
        return 0 if state is None else await self._poll(state, trigger)

    async def _trigger(self, state: _Repo) -> int:
        while (pending := state.pending) is not None:  # a triggered poll not started yet
            try:
                return await asyncio.shield(pending)  # share it
            except asyncio.CancelledError:
                if not pending.cancelled() or _cancelling():
                    raise  # we are cancelled, not the poll we shared
        future = state.pending = asyncio.get_running_loop().create_future()
        try:
            count = await self._poll(state, Trigger.WEBHOOK, started=future)
        except BaseException:
            if state.pending is future:
                state.pending = None
            future.cancel()
            raise
        future.set_result(count)
        return count

    async def run(self) -> None:
        """Poll each repository when it is due, until ``stop``."""
        polls: set[asyncio.Task[None]] = set()
        for state in self._repos.values():
            state.scheduled = False  # a poll cancelled before it began (restart) never reset it
        async with asyncio.TaskGroup() as tg:
            while not self._stopping:
                now = self.clock.now()
                for state in list(self._repos.values()):
                    if not state.scheduled and state.status.next_poll <= now:
                        state.scheduled = True
                        task = tg.create_task(self._scheduled(state))
                        polls.add(task)
                        task.add_done_callback(polls.discard)
                idle = [r.status.next_poll for r in self._repos.values() if not r.scheduled]
                self._changed.clear()
                within = min(idle) - self.clock.now() if idle else None
                await self.clock.wait(self._changed, within=within)
            for task in polls:
                task.cancel()

    def stop(self) -> None:
        """Make ``run`` return (polls in flight are cancelled)."""
        self._stopping = True
        self._changed.set()

    # -- internals --------------------------------------------------------------------------

    def _key(self, url: str) -> str:
        """The access ``url`` is read with; an invalid URL keeps its own (its polls fail)."""
        try:
            return self.source.access_key(url)
        except FleetsyncError:
            return "invalid:" + url

    def _repo(self, key: str, url: str) -> _Repo:
        if key not in self._repos:
            status = RepoStatus(redact_url(url), next_poll=self.clock.now())
            self._repos[key] = _Repo(url, _normalised(url) or url, status)
        return self._repos[key]

    async def _scheduled(self, state: _Repo) -> None:
        try:
            async with self._parallel:
                await self._poll(state, Trigger.PERIODIC)
        except Exception:  # a bug in one repository's poll must not stop the others
            log.exception("polling %s failed", state.status.url)
            state.status.next_poll = self.clock.now() + self.interval
        finally:
            state.scheduled = False
            self._changed.set()

    async def _poll(
        self, state: _Repo, trigger: Trigger, *, started: asyncio.Future[int] | None = None
    ) -> int:
        async with state.lock:
            if started is not None and state.pending is started:
                state.pending = None  # later triggers must poll again
            status = state.status
            status.polls += 1
            try:
                async with asyncio.timeout(self.poll_timeout):
                    await self.source.refresh(repo=state.url, max_age=0)
                    count = await self._compare(state, trigger)
            except (FleetsyncError, TimeoutError) as exc:
                self._failed(state, exc)
                return 0
            except Exception as exc:
                log.exception("poll of %s raised", status.url)
                self._failed(state, exc)
                return 0
            if status.last_error is not None:
                log.info("repository %s is readable again", status.url)
            status.failures, status.last_error = 0, None
            status.last_success = now = self.clock.now()
            status.next_poll = now + jittered(self.interval, rng=self._rng)
            return count

    def _failed(self, state: _Repo, exc: BaseException) -> None:
        status = state.status
        status.failures += 1
        message = str(exc) or f"no answer within {self.poll_timeout:.0f}s"
        if message != status.last_error:
            log.warning("poll of %s failed: %s", status.url, message)
        status.last_error = message
        delay = self.backoff.delay(status.failures) or self.backoff.max_duration
        status.next_poll = self.clock.now() + delay

    async def _compare(self, state: _Repo, trigger: Trigger) -> int:
        """Queue the keys of ``state`` whose revision moved and whose paths changed."""
        revisions = {w.revision for w in state.watches.values()}
        shas = {rev: await self._resolve(state, rev) for rev in revisions}
        diffs: dict[tuple[str, str], frozenset[str] | None] = {}
        queued = 0
        for key, watch in list(state.watches.items()):
            now_at = shas[watch.revision] or _UNRESOLVED + watch.revision
            before = state.seen.get(key)
            if before == now_at:
                continue
            if await self._moved_under(state, watch, before, now_at, diffs):
                if not self._enqueue(key, trigger):
                    continue  # the queue is full: look again at the next poll
                queued += 1
            state.seen[key] = now_at
        return queued

    async def _moved_under(
        self,
        state: _Repo,
        watch: Watch,
        before: str | None,
        now_at: str,
        diffs: dict[tuple[str, str], frozenset[str] | None],
    ) -> bool:
        if before is None or before.startswith(_UNRESOLVED) or now_at.startswith(_UNRESOLVED):
            return True
        if (before, now_at) not in diffs:
            try:
                diffs[before, now_at] = await self.source.changed_paths(
                    repo=state.url, old_sha=before, new_sha=now_at
                )
            except FleetsyncError as exc:
                log.info("cannot diff %s..%s of %s (%s): queueing its apps",
                         before[:12], now_at[:12], state.status.url, exc)  # fmt: skip
                diffs[before, now_at] = None
        changed = diffs[before, now_at]
        return changed is None or touches(changed, watch.paths)

    async def _resolve(self, state: _Repo, revision: str) -> str | None:
        try:
            return await self.source.resolve(repo=state.url, revision=revision,
                                             max_age=self.poll_timeout + self.interval)  # fmt: skip
        except FleetsyncError as exc:
            log.info("revision %r of %s: %s", revision, state.status.url, exc)
            return None


def _cancelling() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _normalised(url: str) -> str | None:
    try:
        return normalise_url(url)
    except ValueError:
        return None
