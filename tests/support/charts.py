"""A Helm chart repository on loopback for tests: chart archives made here and an
``index.yaml`` listing them, served over HTTP by a thread."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import io
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import yaml


def package(name: str, version: str, files: dict[str, str]) -> bytes:
    """A chart archive: ``<name>/Chart.yaml`` and ``files`` (relative to the chart)."""
    chart = {"Chart.yaml": f"apiVersion: v2\nname: {name}\nversion: {version}\n", **files}
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for path, text in chart.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{name}/{path}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


class ChartRepo:
    """A directory served as a Helm repository; ``add`` publishes a chart version."""

    def __init__(self, root: Path, url: str) -> None:
        self.root, self.url = root, url
        self.entries: dict[str, list[dict[str, object]]] = {}

    def add(self, name: str, version: str, files: dict[str, str], *,
            digest: str | None = None, url: str | None = None) -> None:  # fmt: skip
        archive = package(name, version, files)
        filename = f"{name}-{version}.tgz"
        (self.root / filename).write_bytes(archive)
        self.entries.setdefault(name, []).append({
            "name": name, "version": version, "urls": [url or filename],
            "digest": digest if digest is not None else hashlib.sha256(archive).hexdigest()})
        (self.root / "index.yaml").write_text(
            yaml.safe_dump({"apiVersion": "v1", "entries": self.entries}))


@contextlib.contextmanager
def chart_repo(root: Path) -> Iterator[ChartRepo]:
    """A chart repository served from ``root`` on 127.0.0.1 until the block ends."""
    root.mkdir(parents=True, exist_ok=True)
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield ChartRepo(root, f"http://127.0.0.1:{server.server_address[1]}/charts")
    finally:
        server.shutdown()
        server.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def translate_path(self, path: str) -> str:  # served under /charts/
        return super().translate_path(path.removeprefix("/charts"))

    def log_message(self, format: str, *args: object) -> None:
        pass
