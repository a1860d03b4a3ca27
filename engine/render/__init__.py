"""The native Kustomize renderer: files in, objects out (pure: no network, no asyncio).

``build(path)`` does what ``kustomize build PATH`` does and returns the objects in
kustomize's output order. A directory without a kustomization renders as plain YAML,
unless it is a Helm chart (it holds a ``Chart.yaml``: refused, Helm is not rendered yet).
Like Argo CD's detection, a kustomization wins over a ``Chart.yaml`` beside it.
Every read goes through one ``RepoReader`` rooted at ``root`` (default: ``path``);
nothing outside it is read, and the work is bounded by a ``RenderBudget``. Every failure,
whatever the input, is an ``engine.errors.RenderError`` naming files relative to the root.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from engine.errors import (
    HelmChartFound,
    RenderCancelledError,
    RenderError,
    RenderLimitError,
    RenderTimeoutError,
    SecurityError,
    UnsupportedFieldError,
    UnsupportedSourceError,
)
from engine.render.budget import RenderBudget
from engine.render.build import Builder, SharedBuilds
from engine.render.emit import to_yaml
from engine.render.jsonnet import Evaluate
from engine.render.kustomization import find_file
from engine.render.loader import RepoReader
from engine.render.plain import render_directory

log = logging.getLogger(__name__)

HELM_CHART = "Chart.yaml"
EMPTY_RENDER = "the path renders no objects (no manifests found); nothing would be deployed"


def build(path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None,
          recurse: bool = False, reads: set[str] | None = None,
          budget: RenderBudget | None = None,
          shared: SharedBuilds | None = None,
          jsonnet: Evaluate | None = None) -> list[dict[str, Any]]:
    """Render the kustomization (or plain manifest directory) at ``path``.

    ``root`` bounds every file read and defaults to ``path``; ``recurse`` applies to
    plain directories only. ``reads``, if given, receives the root-relative paths of every
    file read and directory listed. ``budget`` bounds the work (default: ``RenderBudget()``,
    60 s); give one to cancel the render from another thread. ``shared`` keeps the
    directories built as resources for other renders of the same tree (see ``Builder``).
    ``jsonnet`` evaluates the ``.jsonnet`` files of a plain directory (without it they are
    refused; ``engine.renderer.jsonnet`` gives one).
    """
    reader = RepoReader(root if root is not None else path, reads=reads, budget=budget,
                        kinds=shared.kinds() if shared is not None else None)
    where = reader.display(Path(path).absolute())
    try:
        directory = reader.resolve(Path(path).absolute())
        if not reader.is_dir(directory):
            raise RenderError(f"{where}: not a directory")
        if find_file(reader, directory) is not None:
            return Builder(reader, shared).build_top(directory)
        if reader.is_file(directory / HELM_CHART):
            raise HelmChartFound(f"{where}: a Helm chart ({HELM_CHART}); rendering it needs "
                                 "the helm binary (render.helmBinary in fleetsync.yaml, "
                                 "fleetsync render --helm)")
        return render_directory(reader, directory, recurse=recurse, jsonnet=jsonnet)
    except RenderError:
        raise
    except RecursionError as err:
        raise SecurityError(f"{where}: render nested too deeply") from err
    except Exception as err:  # hostile input must never escape as another error
        log.debug("unexpected error rendering %s", where, exc_info=True)
        raise RenderError(f"{where}: render failed on unexpected input "
                          f"({type(err).__name__})") from err


__all__ = ["EMPTY_RENDER", "RenderBudget", "RenderCancelledError", "RenderError",
           "RenderLimitError", "RenderTimeoutError", "SecurityError", "UnsupportedFieldError",
           "UnsupportedSourceError", "build", "to_yaml"]
