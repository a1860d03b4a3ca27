"""engine/diff stays pure: no asyncio, network or cluster client imports."""

from __future__ import annotations

import ast
from pathlib import Path

import engine.diff

FORBIDDEN = {"asyncio", "aiohttp", "anyio", "kubernetes_asyncio", "socket", "subprocess"}


def test_diff_modules_import_no_io_library() -> None:
    package = Path(engine.diff.__file__).parent
    for module in package.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] not in FORBIDDEN, f"{module.name} imports {name}"
