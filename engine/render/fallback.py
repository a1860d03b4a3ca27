"""Rendering with a kustomize binary when the native renderer refuses a field.

Not pure (runs a subprocess); the pure modules never import it. This is Argo CD's way
for the rare app that needs what the native renderer does not implement (``vars``,
``helmCharts``, plugins...): only ``UnsupportedFieldError`` falls back, every other
error stays an error. The binary's output is parsed with the same limits as files.
Note: the binary enforces its own load restrictions, not our repository-root guard.
"""

from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path
from typing import Any

from engine.render import build
from engine.render.errors import RenderError, UnsupportedFieldError
from engine.render.loader import check_object_count, iter_objects, parse_documents

log = logging.getLogger(__name__)
_logged: set[tuple[str, str]] = set()


def build_or_fallback(path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None,
                      kustomize: str | None = None, timeout: float = 60.0
                      ) -> list[dict[str, Any]]:
    """``build(path)``, or ``kustomize build path`` when a field is unsupported natively."""
    try:
        return build(path, root=root)
    except UnsupportedFieldError as err:
        if kustomize is None:
            raise
        _log_once(str(path), str(err))
        return _run_binary(Path(path), kustomize, timeout)


def _log_once(path: str, reason: str) -> None:
    if (path, reason) not in _logged:
        _logged.add((path, reason))
        log.warning("rendering %s with the kustomize binary: %s", path, reason)


def _run_binary(path: Path, kustomize: str, timeout: float) -> list[dict[str, Any]]:
    try:
        result = subprocess.run([kustomize, "build", str(path)], capture_output=True,
                                text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise RenderError(f"{path}: kustomize binary failed: {err}") from err
    if result.returncode != 0:
        lines = result.stderr.strip().splitlines() or ["(no message)"]
        raise RenderError(f"{path}: kustomize build failed: {lines[0]}")
    objects: list[dict[str, Any]] = []
    for doc in parse_documents(result.stdout, f"kustomize build {path}"):
        objects.extend(iter_objects(doc.value, f"kustomize build {path}"))
    check_object_count(len(objects), str(path))
    return objects
