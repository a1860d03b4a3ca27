"""The native Kustomize renderer: files in, objects out (pure: no network, no asyncio).

``build(path)`` does what ``kustomize build PATH`` does and returns the objects in
kustomize's output order. A directory without a kustomization renders as plain YAML.
Every read goes through one ``RepoReader`` rooted at ``root`` (default: ``path``);
nothing outside it is read. Errors are ``engine.errors.RenderError``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from engine.render.build import Builder
from engine.render.emit import to_yaml
from engine.render.errors import RenderError, SecurityError, UnsupportedFieldError
from engine.render.kustomization import find_file
from engine.render.loader import RepoReader
from engine.render.plain import render_directory


def build(path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None,
          recurse: bool = False, reads: set[str] | None = None) -> list[dict[str, Any]]:
    """Render the kustomization (or plain manifest directory) at ``path``.

    ``root`` bounds every file read and defaults to ``path``; ``recurse`` applies to
    plain directories only. ``reads``, if given, receives the root-relative paths of every
    file read and directory listed.
    """
    reader = RepoReader(root if root is not None else path, reads=reads)
    directory = reader.resolve(Path(path).absolute())
    if not directory.is_dir():
        raise RenderError(f"{path}: not a directory")
    if find_file(reader, directory) is None:
        return render_directory(reader, directory, recurse=recurse)
    return Builder(reader).build_top(directory)


__all__ = ["RenderError", "SecurityError", "UnsupportedFieldError", "build", "to_yaml"]
