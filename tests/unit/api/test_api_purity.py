"""The API's views, JSON shapes and metrics text are pure: they import no HTTP library."""

from __future__ import annotations

import subprocess
import sys


def test_views_serialize_and_metrics_import_no_http_library() -> None:
    code = (
        "import sys, engine.api.views, engine.api.serialize, engine.api.metrics\n"
        "bad = {'aiohttp', 'kubernetes_asyncio', 'anyio'} & set(sys.modules)\n"
        "print(sorted(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
