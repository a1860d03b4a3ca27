"""The child process that evaluates one Jsonnet file (``python -m engine.renderer.jsonnet_child
REQUEST``); ``engine.renderer.jsonnet`` starts it and bounds its time and output.

It caps its own address space and CPU time first, then evaluates with the reference
implementation (the ``jsonnet`` package) and an import callback that reads through a
``RepoReader`` of the commit tree: an import resolves against the importing file's
directory, then each library directory, and anything that leaves the tree, is too large or
exceeds the render's file count is refused. It prints ``{"value": ..., "reads": [...]}``
or ``{"error": "..."}`` as JSON on stdout; messages never name the tree's absolute path.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from pathlib import Path
from typing import Any

MEMORY_BYTES = 2 * 1024**3
MAX_STACK = 500  # Jsonnet's own recursion limit (its default)


def main(argv: list[str]) -> int:
    """Evaluate the request in ``argv[1]``; exit 0 with the JSON answer on stdout."""
    request = json.loads(argv[1])
    _limit(float(request["seconds"]))
    root = str(Path(request["root"]).resolve())
    try:
        answer: dict[str, Any] = _evaluate(request, root)
    except Exception as err:  # any failure is the file's, told without the hub's paths
        answer = {"error": str(err).replace(root + os.sep, "").replace(root, ".")}
    sys.stdout.write(json.dumps(answer))
    return 0


def _limit(seconds: float) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_BYTES, MEMORY_BYTES))
    cpu = max(1, int(seconds) + 1)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))


def _evaluate(request: dict[str, Any], root: str) -> dict[str, Any]:
    import _jsonnet

    from engine.render.budget import RenderBudget
    from engine.render.loader import RepoReader

    reads: set[str] = set()
    reader = RepoReader(root, reads=reads, budget=RenderBudget(
        timeout=float(request["seconds"]), max_files=int(request["max_files"])))
    libs = [reader.resolve(Path(root) / lib) for lib in request["libs"]]
    entry = reader.resolve(Path(root) / request["file"])

    def load(base: str, relative: str) -> tuple[str, bytes]:
        if os.path.isabs(relative):
            raise RuntimeError(f"import {relative!r}: absolute paths are refused")
        here = Path(base) if os.path.isabs(base) else Path(root) / base  # the entry's: relative
        for directory in (here, *libs):
            candidate = directory / relative
            real = reader.resolve(candidate)  # refuses what leaves the tree
            if real.is_file():
                return str(real), reader.read_bytes(real)
        raise RuntimeError(f"import {relative!r}: not found")

    variables = {f"{kind}_{'codes' if code else 'vars'}": {
        v["name"]: v["value"] for v in request[kind] if bool(v["code"]) is code}
        for kind in ("ext", "tla") for code in (False, True)}  # fmt: skip
    text = _jsonnet.evaluate_snippet(
        reader.display(entry), reader.read_bytes(entry).decode("utf-8"),
        ext_vars=variables["ext_vars"], ext_codes=variables["ext_codes"],
        tla_vars=variables["tla_vars"], tla_codes=variables["tla_codes"],
        import_callback=load, max_stack=MAX_STACK)
    return {"value": json.loads(text), "reads": sorted(reads)}


if __name__ == "__main__":
    sys.exit(main(sys.argv))
