"""Helm chart repositories over real HTTP on loopback: the highest version a constraint
allows, the archive fetched once and unpacked; and what a hostile repository cannot do:
an archive elsewhere than the repository, an archive not matching its digest, members
outside the chart or links, an index or archive too large."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from engine.errors import ChartError
from engine.source import charts
from engine.source.charts import ChartRepositories, unpack
from tests.support.charts import chart_repo

FILES = {"templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"}


async def test_a_version_is_chosen_fetched_and_unpacked_once(tmp_path: Path) -> None:
    with chart_repo(tmp_path / "served") as repo:
        for version in ("0.1.0", "0.2.0", "1.0.0"):
            repo.add("web", version, FILES)
        found = ChartRepositories(tmp_path / "charts", index_ttl=60)
        try:
            assert await found.resolve(repo.url, "web", "<1.0.0") == "0.2.0"
            assert await found.resolve(repo.url, "web", "*") == "1.0.0"
            directory = await found.fetch(repo.url, "web", "0.2.0")
            assert (directory / "Chart.yaml").read_text().endswith("version: 0.2.0\n")
            (tmp_path / "served" / "web-0.2.0.tgz").unlink()  # kept: not fetched again
            assert await found.fetch(repo.url, "web", "0.2.0") == directory
            with pytest.raises(ChartError, match="no version matches '>2'"):
                await found.resolve(repo.url, "web", ">2")
            with pytest.raises(ChartError, match="chart api: not in the repository's index"):
                await found.resolve(repo.url, "api", "*")
        finally:
            await found.close()


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"digest": "0" * 64}, "does not match the index's digest"),
    ({"url": "http://127.0.0.2:1/web-1.0.0.tgz"}, "points the archive to another server"),
])  # fmt: skip
async def test_a_hostile_index_is_refused(tmp_path: Path, kwargs: dict[str, str],
                                          message: str) -> None:  # fmt: skip
    with chart_repo(tmp_path / "served") as repo:
        repo.add("web", "1.0.0", FILES, **kwargs)
        found = ChartRepositories(tmp_path / "charts")
        try:
            with pytest.raises(ChartError, match=message):
                await found.fetch(repo.url, "web", "1.0.0")
        finally:
            await found.close()


async def test_an_index_too_large_is_refused(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    monkeypatch.setattr(charts, "MAX_INDEX", 100)
    with chart_repo(tmp_path / "served") as repo:
        repo.add("web", "1.0.0", FILES)
        found = ChartRepositories(tmp_path / "charts")
        try:
            with pytest.raises(ChartError, match=r"index\.yaml is larger than 100 bytes"):
                await found.resolve(repo.url, "web", "*")
        finally:
            await found.close()


def _archive(members: list[tarfile.TarInfo], data: bytes = b"x") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for member in members:
            member.size = len(data) if member.isfile() else 0
            tar.addfile(member, io.BytesIO(data) if member.isfile() else None)
    return out.getvalue()


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info


@pytest.mark.parametrize(("members", "message"), [
    ([_member("web/Chart.yaml"), _member("web/../../etc/cron.d/x")], "outside the chart"),
    ([_member("/etc/passwd")], "outside the chart"),
    ([_member("other/Chart.yaml")], "outside the chart"),
    ([_member("web/Chart.yaml"), _member("web/link", tarfile.SYMTYPE, "/etc/passwd")],
     "not a regular file"),
    ([_member("web/values.yaml")], "holds no web/Chart.yaml"),
])  # fmt: skip
def test_an_unsafe_archive_is_refused(tmp_path: Path, members: list[tarfile.TarInfo],
                                      message: str) -> None:  # fmt: skip
    with pytest.raises(ChartError, match=message):
        unpack(_archive(members), "web", tmp_path / "out", "repo: chart web")
    assert not (tmp_path / "out" / "web").exists()


def test_an_archive_that_unpacks_too_large_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(charts, "MAX_FILES", 2)
    members = [_member("web/Chart.yaml"), *(_member(f"web/t{i}.yaml") for i in range(3))]
    with pytest.raises(ChartError, match="more than 2 files"):
        unpack(_archive(members), "web", tmp_path / "out", "repo: chart web")
