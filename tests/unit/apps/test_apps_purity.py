"""The Application, policy and config modules stay pure: no network or async libraries."""

from __future__ import annotations

import subprocess
import sys


def test_pure_modules_import_no_io_library() -> None:
    code = (
        "import sys, engine.apps, engine.policy, engine.config\n"
        "bad = {'aiohttp', 'kubernetes_asyncio', 'anyio', 'asyncio'} & set(sys.modules)\n"
        "print(sorted(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
