"""Rendering with a kustomize binary when the native renderer refuses a field.

Not pure (runs a subprocess); the pure modules never import it. This is Argo CD's way
for the rare app that needs what the native renderer does not implement (``vars``,
``helmCharts``, plugins...): only ``UnsupportedFieldError`` falls back, every other
error stays an error. Before the binary runs, the kustomization graph is walked natively
(``engine.render.graph``): a remote entry or a path leaving the repository is refused.
Then the binary runs in a sandbox that sees only the app's commit tree
(``engine.renderer.sandbox``), within the same budget (deadline, cancel) as the native
render. Its output is parsed with the same guards as files and bounded in size and
objects. A plain directory never falls back, so ``recurse`` keeps every nested file.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from engine.errors import HelmChartFound
from engine.render import build
from engine.render.budget import RenderBudget
from engine.render.build import SharedBuilds
from engine.render.errors import UnsupportedFieldError
from engine.render.graph import check_local_only
from engine.render.jsonnet import JsonnetOptions
from engine.render.loader import RepoReader, objects_of_output
from engine.renderer.helm import HelmRun, render_chart
from engine.renderer.jsonnet import jsonnet_evaluator
from engine.renderer.sandbox import run_kustomize

log = logging.getLogger(__name__)
_logged: set[tuple[str, str]] = set()
_MAX_LOGGED = 1024


def build_or_fallback(path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None,
                      kustomize: str | None = None, recurse: bool = False,
                      reads: set[str] | None = None, budget: RenderBudget | None = None,
                      shared: SharedBuilds | None = None,
                      helm: HelmRun | None = None,
                      helm_binary: str | None = None,
                      jsonnet: JsonnetOptions | None = None) -> list[dict[str, Any]]:
    """``build(path, ...)``, or ``kustomize build`` in a sandbox when a field is
    unsupported, or ``helm template`` in a sandbox when ``path`` is a Helm chart.

    Same arguments as ``build``; ``kustomize`` is the binary (None: no fallback), ``helm``
    what a chart render needs (None: charts are refused), ``helm_binary`` the helm the
    kustomize binary inflates a kustomization's local ``helmCharts`` with, ``jsonnet`` the
    options a plain directory's ``.jsonnet`` files are evaluated with (each in a bounded
    child process). The sandbox sees ``root`` (default ``path``) only, and ``budget``
    bounds every attempt.
    """
    budget = budget if budget is not None else RenderBudget()
    try:
        return build(path, root=root, recurse=recurse, reads=reads, budget=budget,
                     shared=shared, jsonnet=jsonnet_evaluator(jsonnet))
    except HelmChartFound:
        if helm is None:
            raise
        reader = RepoReader(root if root is not None else path, reads=reads, budget=budget)
        return render_chart(reader, reader.resolve(Path(path).absolute()), helm, budget)
    except UnsupportedFieldError as err:
        if kustomize is None:
            raise
        reader = RepoReader(root if root is not None else path, reads=reads, budget=budget)
        where = reader.display(Path(path).absolute())
        _log_once(where, str(err))
        check_local_only(reader, Path(path).absolute())
        return _run_binary(reader, where, kustomize, budget,
                           helm.binary if helm is not None else helm_binary)


def _log_once(where: str, reason: str) -> None:
    if (where, reason) not in _logged and len(_logged) < _MAX_LOGGED:
        _logged.add((where, reason))
        log.warning("rendering %s with the kustomize binary: %s", where, reason)


def _run_binary(reader: RepoReader, where: str, kustomize: str, budget: RenderBudget,
                helm: str | None) -> list[dict[str, Any]]:
    output = run_kustomize(kustomize, reader.root, where, where=where, budget=budget, helm=helm)
    return objects_of_output(output, f"kustomize build {where}", where, budget)
