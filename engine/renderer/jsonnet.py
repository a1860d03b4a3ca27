"""Evaluating Jsonnet entry files for ``engine.render`` (not pure: a child process each).

The reference implementation (the ``jsonnet`` package, C++) cannot be interrupted from
Python and could use any amount of memory, so each file is evaluated in a child process
(``engine.renderer.jsonnet_child``) that caps its own address space (2 GiB) and CPU time,
is killed at the render's deadline or cancel, and may print at most the sandbox's output
limit. Its environment is cleared (``PATH`` and the hub's module path only). It reads the
commit tree only through a ``RepoReader`` (imports confined to the tree, bounded in size
and count); the files it read are added to the render's reads, so a commit that changes an
imported library re-renders the app.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from engine.render.errors import RenderError
from engine.render.jsonnet import Evaluate, JsonnetOptions
from engine.render.loader import RepoReader
from engine.renderer.sandbox import SANDBOX_PATH, run_bounded

MAX_MESSAGE = 500


def jsonnet_evaluator(options: JsonnetOptions | None) -> Evaluate:
    """The ``evaluate`` callable ``engine.render.build`` takes, with the app's options."""
    chosen = options or JsonnetOptions()

    def evaluate(reader: RepoReader, path: Path) -> Any:
        return _evaluate(reader, path, chosen)

    return evaluate


def _evaluate(reader: RepoReader, path: Path, options: JsonnetOptions) -> Any:
    where = reader.display(path)
    budget = reader.budget
    request = {
        "root": str(reader.root), "file": where, "libs": list(options.libs),
        "seconds": budget.remaining(), "max_files": max(1, budget.max_files - budget.files),
        "ext": [_variable(v) for v in options.ext_vars],
        "tla": [_variable(v) for v in options.tlas],
    }
    command = [sys.executable, "-m", "engine.renderer.jsonnet_child", json.dumps(request)]
    env = {"PATH": SANDBOX_PATH, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    code, out, err = run_bounded(command, where=where, budget=budget, env=env)
    if code != 0:
        tail = err.decode("utf-8", errors="replace").strip().splitlines()[-1:] or ["killed"]
        raise RenderError(f"{where}: Jsonnet evaluation failed: {_short(tail[0])}")
    answer = json.loads(out)
    if "error" in answer:
        raise RenderError(f"{where}: Jsonnet: {_short(str(answer['error']))}")
    for read in answer.get("reads", ()):
        reader.depends_on(reader.root / read)
        budget.read_file(read)
    return answer["value"]


def _variable(variable: Any) -> dict[str, Any]:
    return {"name": variable.name, "value": variable.value, "code": variable.code}


def _short(message: str) -> str:
    first = " ".join(message.split())
    return first if len(first) <= MAX_MESSAGE else first[:MAX_MESSAGE] + "..."
