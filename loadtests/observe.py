"""Seeing changes land: one watch per (cluster, kind) on the objects the hub manages, and
expectations that resolve with the time the API server reported the wanted state.

A latency is measured from the end of the action (push, webhook sent, drift written) to the
arrival of the watch event that shows the wanted state, so no polling interval is added.
A watch that breaks (its cluster stopped, a 410) is re-listed and re-watched until closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from loadtests.kube import Kube, KubeError, kind_path

Obj = dict[str, Any]
Predicate = Callable[[Obj | None], bool]
ObjectId = tuple[str, str, str]  # kind, namespace, name
RETRY = 1.0


@dataclass
class _Expectation:
    predicate: Predicate
    future: asyncio.Future[float]


@dataclass
class LiveView:
    """The live managed objects of some kinds on one cluster, kept by watches."""

    kube: Kube
    kinds: Sequence[tuple[str, str]]  # (apiVersion, kind)
    selector: str
    objects: dict[ObjectId, Obj] = field(default_factory=dict)
    _pending: dict[ObjectId, list[_Expectation]] = field(default_factory=dict)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _ready: list[asyncio.Event] = field(default_factory=list)

    async def start(self) -> None:
        """List and start watching every kind; returns once each has been listed."""
        for api_version, kind in self.kinds:
            ready = asyncio.Event()
            self._ready.append(ready)
            self._tasks.append(asyncio.create_task(self._follow(api_version, kind, ready)))
        await asyncio.wait_for(asyncio.gather(*(r.wait() for r in self._ready)), timeout=60)

    async def close(self) -> None:
        """Stop the watches."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def expect(self, kind: str, namespace: str, name: str, predicate: Predicate) -> (
            asyncio.Future[float]):
        """A future resolved with the loop time at which the object first satisfies
        ``predicate`` (None when it does not exist), from now on."""
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        ident = (kind, namespace, name)
        if predicate(self.objects.get(ident)):
            future.set_result(asyncio.get_running_loop().time())
        else:
            self._pending.setdefault(ident, []).append(_Expectation(predicate, future))
        return future

    def get(self, kind: str, namespace: str, name: str) -> Obj | None:
        """The object as last seen."""
        return self.objects.get((kind, namespace, name))

    async def _follow(self, api_version: str, kind: str, ready: asyncio.Event) -> None:
        path = kind_path(api_version, kind)
        while True:
            try:
                items, version = await self.kube.list(path, selector=self.selector)
                for item in items:
                    self._seen(kind, item, deleted=False)
                ready.set()
                async for event in self.kube.watch(path, selector=self.selector,
                                                   resource_version=version):
                    if event["type"] == "ERROR":
                        break  # e.g. 410 Gone: list again
                    if event["type"] != "BOOKMARK":
                        self._seen(kind, event["object"], deleted=event["type"] == "DELETED")
            except (TimeoutError, aiohttp.ClientError, OSError, KubeError, ValueError):
                await asyncio.sleep(RETRY)

    def _seen(self, kind: str, obj: Obj, *, deleted: bool) -> None:
        meta = obj["metadata"]
        ident = (kind, meta.get("namespace", ""), meta["name"])
        if deleted:
            self.objects.pop(ident, None)
        else:
            self.objects[ident] = obj
        waiting = self._pending.get(ident)
        if not waiting:
            return
        now = asyncio.get_running_loop().time()
        current = self.objects.get(ident)
        keep = []
        for expectation in waiting:
            if expectation.future.done():
                continue
            if expectation.predicate(current):
                expectation.future.set_result(now)
            else:
                keep.append(expectation)
        self._pending[ident] = keep


# ------------------------------------------------------------------ predicates
def annotation_is(key: str, value: str) -> Predicate:
    """The object exists and its annotation ``key`` is ``value``."""
    return lambda obj: obj is not None and (
        (obj["metadata"].get("annotations") or {}).get(key) == value)


def data_is(key: str, value: str) -> Predicate:
    """The object (a ConfigMap) exists and ``data[key]`` is ``value``."""
    return lambda obj: obj is not None and (obj.get("data") or {}).get(key) == value


def recreated(old_uid: str) -> Predicate:
    """The object exists with another uid than ``old_uid``."""
    return lambda obj: obj is not None and obj["metadata"].get("uid") != old_uid


def replicas_are(count: int) -> Predicate:
    """The object (a Deployment) exists and asks for ``count`` replicas."""
    return lambda obj: obj is not None and (obj.get("spec") or {}).get("replicas") == count


def after(first: Predicate, then: Predicate) -> Predicate:
    """True once ``then`` holds in a state seen after one where ``first`` held (a drift
    seen, then healed: the healed state alone is also the state before the drift)."""
    armed = False

    def check(obj: Obj | None) -> bool:
        nonlocal armed
        if not armed:
            armed = first(obj)
            return False
        return then(obj)

    return check


# ------------------------------------------------------------------ figures
def percentiles(samples: Sequence[float]) -> dict[str, Any]:
    """n, p50, p95, p99, max and mean of latencies in seconds (all None without samples)."""
    if not samples:
        return {"n": 0, "p50_s": None, "p95_s": None, "p99_s": None, "max_s": None,
                "mean_s": None, "samples_s": []}
    ordered = sorted(samples)
    if len(ordered) == 1:
        cuts = [ordered[0]] * 99
    else:
        cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"n": len(ordered), "p50_s": cuts[49], "p95_s": cuts[94], "p99_s": cuts[98],
            "max_s": ordered[-1], "mean_s": statistics.fmean(ordered),
            "samples_s": [round(s, 4) for s in ordered]}


def ratio(degraded: dict[str, Any], normal: dict[str, Any]) -> dict[str, Any]:
    """Each percentile under an outage over the normal one, and whether all stay ≤ 1.2."""
    found: dict[str, Any] = {}
    for key in ("p50_s", "p95_s", "p99_s"):
        a, b = degraded.get(key), normal.get(key)
        found[key.replace("_s", "_ratio")] = a / b if a is not None and b else None
    values = [v for v in found.values() if v is not None]
    found["within_20_percent"] = bool(values) and all(v <= 1.2 for v in values)
    return found
