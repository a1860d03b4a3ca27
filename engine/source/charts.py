"""Helm chart repositories: a chart's version chosen from the repository's ``index.yaml``,
its archive fetched, checked and unpacked (HTTP through aiohttp, bounded).

An Application with ``chart:`` names a chart of the Helm repository at ``repoURL``, and
``targetRevision`` its version or a constraint (``engine.semver``: the highest match wins).
Only the declared repository is contacted: ``<repoURL>/index.yaml``, and the archive at the
index entry's URL, relative to the repository or absolute on the same scheme, host and
port; no redirect is followed, no proxy from the environment used. Bounds: the index at
most ``MAX_INDEX`` bytes, an archive ``MAX_ARCHIVE``, unpacked ``MAX_UNPACKED`` in
``MAX_FILES`` regular files; an archive member that is a link or device, absolute, or
outside the chart's directory is refused; the archive's SHA-256 must be the index's
``digest``. A repository's index is kept ``index_ttl`` seconds; unpacked charts are kept
(by repository, chart, version and digest) under ``directory``, written once. Public
repositories only: credentials are not supported yet.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import posixpath
import shutil
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

from engine.config.documents import yaml_document
from engine.errors import ChartError, ChartUnreachable, ConfigError
from engine.redaction import redact_url
from engine.semver import InvalidConstraint, highest

MAX_INDEX = 8 * 1024 * 1024
MAX_ARCHIVE = 8 * 1024 * 1024
MAX_UNPACKED = 64 * 1024 * 1024
MAX_FILES = 5000
TIMEOUT = 30.0


@dataclass(frozen=True)
class ChartVersion:
    """One version of a chart as the index lists it."""

    version: str
    url: str
    digest: str


class ChartRepositories:
    """Chart versions and unpacked charts from Helm repositories; use ``close`` at the end."""

    def __init__(self, directory: Path, *, index_ttl: float = 30.0,
                 timeout: float = TIMEOUT) -> None:  # fmt: skip
        self.directory, self.index_ttl, self.timeout = directory, index_ttl, timeout
        self._indexes: dict[str, tuple[float, dict[str, list[ChartVersion]]]] = {}
        self._session: aiohttp.ClientSession | None = None
        self._locks: dict[str, asyncio.Lock] = {}

    async def resolve(self, repo: str, chart: str, constraint: str) -> str:
        """The highest version of ``chart`` in ``repo`` that ``constraint`` allows."""
        versions = (await self._index(repo)).get(chart)
        where = f"{redact_url(repo)}: chart {chart}"
        if not versions:
            raise ChartError(f"{where}: not in the repository's index")
        try:
            found = highest([v.version for v in versions], constraint)
        except InvalidConstraint as err:
            raise ChartError(f"{where}: targetRevision: {err}") from None
        if found is None:
            raise ChartError(f"{where}: no version matches {constraint!r}")
        return found

    async def fetch(self, repo: str, chart: str, version: str) -> Path:
        """The unpacked chart directory of ``chart`` at ``version`` (fetched once)."""
        entry = next((v for v in (await self._index(repo)).get(chart, [])
                      if v.version == version), None)  # fmt: skip
        where = f"{redact_url(repo)}: chart {chart} {version}"
        if entry is None:
            raise ChartError(f"{where}: not in the repository's index")
        key = hashlib.sha256("\0".join((repo, chart, version, entry.digest)).encode())
        target = self.directory / key.hexdigest()[:24]
        async with self._locks.setdefault(str(target), asyncio.Lock()):
            if not (target / chart).is_dir():
                archive = await self._get(_archive_url(repo, entry.url, where), MAX_ARCHIVE,
                                          where)  # fmt: skip
                if entry.digest and hashlib.sha256(archive).hexdigest() != entry.digest:
                    raise ChartError(f"{where}: the archive does not match the index's digest")
                await asyncio.to_thread(unpack, archive, chart, target, where)
        return target / chart

    async def close(self) -> None:
        """Close the HTTP connections."""
        if self._session is not None:
            await self._session.close()

    async def _index(self, repo: str) -> dict[str, list[ChartVersion]]:
        kept = self._indexes.get(repo)
        if kept is not None and time.monotonic() - kept[0] < self.index_ttl:
            return kept[1]
        where = redact_url(repo)
        data = await self._get(repo.rstrip("/") + "/index.yaml", MAX_INDEX, where)
        index = parse_index(data, where)
        self._indexes[repo] = (time.monotonic(), index)
        return index

    async def _get(self, url: str, limit: int, where: str) -> bytes:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                trust_env=False, timeout=aiohttp.ClientTimeout(total=self.timeout))
        try:
            async with self._session.get(url, allow_redirects=False) as response:
                if response.status >= 500:
                    raise ChartUnreachable(f"{where}: the repository answered {response.status}")
                if response.status != 200:
                    raise ChartError(f"{where}: {redact_url(url)} answered {response.status}")
                data = await response.content.read(limit + 1)
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            raise ChartUnreachable(f"{where}: cannot reach the repository "
                                   f"({type(err).__name__})") from None
        if len(data) > limit:
            raise ChartError(f"{where}: {redact_url(url)} is larger than {limit} bytes")
        return data


def parse_index(data: bytes, where: str) -> dict[str, list[ChartVersion]]:
    """A repository's ``index.yaml``: every chart's versions (unusable entries skipped)."""
    try:
        doc = yaml_document(data, source=f"{where}/index.yaml")
    except ConfigError as err:
        raise ChartError(str(err)) from None
    entries = doc.get("entries") if isinstance(doc, dict) else None
    if not isinstance(entries, dict):
        raise ChartError(f"{where}/index.yaml: not a Helm repository index (no entries)")
    found: dict[str, list[ChartVersion]] = {}
    for name, versions in entries.items():
        for item in versions if isinstance(versions, list) else []:
            version = _entry(item)
            if version is not None:
                found.setdefault(str(name), []).append(version)
    return found


def _entry(item: Any) -> ChartVersion | None:
    if not isinstance(item, dict):
        return None
    urls = item.get("urls")
    if not isinstance(urls, list) or not urls or not isinstance(urls[0], str):
        return None
    return ChartVersion(str(item.get("version") or ""), urls[0], str(item.get("digest") or ""))


def _archive_url(repo: str, url: str, where: str) -> str:
    """The archive's absolute URL; refused unless on the repository's scheme, host, port."""
    absolute = urljoin(repo.rstrip("/") + "/", url)
    base, found = urlsplit(repo), urlsplit(absolute)
    if (found.scheme, found.hostname, found.port) != (base.scheme, base.hostname, base.port):
        raise ChartError(f"{where}: the index points the archive to another server "
                         f"({found.scheme}://{found.hostname}); only the repository is used")
    return absolute


def unpack(archive: bytes, chart: str, target: Path, where: str) -> None:
    """Unpack the chart archive into ``target/<chart>`` (written to a temporary directory
    first, renamed when complete); ChartError for anything unsafe or too large."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        total = files = 0
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
            for member in tar:
                name = posixpath.normpath(member.name)
                if name.startswith(("/", "../")) or name == ".." or not (
                        name == chart or name.startswith(f"{chart}/")):
                    raise ChartError(f"{where}: archive member {member.name!r} lies outside "
                                     f"the chart's directory {chart}/")
                if member.isdir():
                    continue
                if not member.isfile():
                    raise ChartError(f"{where}: archive member {member.name!r} is not a "
                                     "regular file (links are refused)")
                files, total = files + 1, total + member.size
                if files > MAX_FILES or total > MAX_UNPACKED:
                    raise ChartError(f"{where}: the chart unpacks to more than {MAX_FILES} "
                                     f"files or {MAX_UNPACKED} bytes")
                source = tar.extractfile(member)
                assert source is not None
                path = staging / name
                path.parent.mkdir(parents=True, exist_ok=True)
                with source, path.open("xb") as out:
                    shutil.copyfileobj(source, out)
        if not (staging / chart / "Chart.yaml").is_file():
            raise ChartError(f"{where}: the archive holds no {chart}/Chart.yaml")
        target.mkdir(exist_ok=True)
        os.replace(staging / chart, target / chart)
    except (tarfile.TarError, OSError, EOFError) as err:
        raise ChartError(f"{where}: the archive cannot be unpacked ({type(err).__name__})"
                         ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
