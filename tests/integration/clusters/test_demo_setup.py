"""``fleetsync local demo --prepare-only`` sets up clusters, Git and the hub config, and
``demo-down`` stops every process it started."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from engine.config.hub import load_config
from engine.local import demo
from tests.support.git_remotes import free_port


def _fleetsync(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine.cli", *args], capture_output=True,
                          text=True, timeout=300, check=False)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def test_demo_prepares_argo_files_verbatim_and_demo_down_stops_everything(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "demo"
    prepared = _fleetsync("local", "demo", "--dir", str(directory), "--prepare-only",
                          "--port", str(free_port()))
    try:
        assert prepared.returncode == 0, prepared.stderr
        git_pid = int((directory / demo.GIT_PID_FILE).read_text().split()[0])
        assert _alive(git_pid)
        config = load_config(directory / "hub" / "fleetsync.yaml")
        apps = sorted(p.name for p in (directory / "hub" / "apps").glob("*.yaml"))
        example = demo.default_example() / "apps"
        assert apps == sorted(p.name for p in example.glob("*.yaml"))
        for name in apps:
            original = (example / name).read_text()
            written = (directory / "hub" / "apps" / name).read_text()
            assert written.replace(_repo_url(written), demo.DEMO_REPO_URL) == original
        registration = yaml.safe_load((directory / "hub" / "clusters.yaml").read_text())
        assert registration["clusters"][0]["labels"]["fleetsync.io/default"] == "true"
        assert config.clusters == directory / "hub" / "clusters.yaml"
    finally:
        down = _fleetsync("local", "demo-down", "--dir", str(directory))
    assert down.returncode == 0, down.stderr
    assert not _alive(git_pid)


def _repo_url(text: str) -> str:
    for line in text.splitlines():
        if "repoURL:" in line:
            return line.split("repoURL:", 1)[1].strip()
    return demo.DEMO_REPO_URL
