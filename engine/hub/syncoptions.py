"""An app's Argo CD switches as the apply core's options (pure, but it names the core's
``SyncOptions``, so it stays out of ``decisions``, which imports no I/O package)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.apply.options import Memory, SyncOptions
from engine.apps import AppTarget
from engine.diff import IgnoreRule
from engine.errors import ConfigError
from engine.health import CustomChecks
from engine.hub.decisions import Request


def sync_options(target: AppTarget, request: Request | None, *,
                 health_checks: CustomChecks | None = None,
                 memory: Memory | None = None) -> SyncOptions:  # fmt: skip
    """The core's options for ``target``: Argo CD's switches mapped one to one (with the
    hub's custom health checks and the memory of the target's cluster, when given).

    ``ConfigError`` names the field of an ``ignoreDifferences`` entry that is not valid.
    """
    opts = target.options
    automated = opts.automated
    prune = bool(automated and automated.prune)
    if request is not None and request.prune is not None:
        prune = request.prune
    ignore = tuple(_ignore_rule(i, e) for i, e in enumerate(opts.ignore_differences))
    return SyncOptions(
        prune=prune and opts.sync.prune,
        create_namespace=opts.sync.create_namespace,
        propagation=opts.sync.prune_propagation.capitalize(),
        ignore=ignore,
        only=request.resources if request is not None else None,
        health_checks=health_checks,
        memory=memory,
    )


def _ignore_rule(index: int, entry: Mapping[str, Any]) -> IgnoreRule:
    try:
        return IgnoreRule.from_argo(dict(entry))
    except ConfigError as err:
        raise ConfigError(f"spec.ignoreDifferences[{index}]: {err}") from None
