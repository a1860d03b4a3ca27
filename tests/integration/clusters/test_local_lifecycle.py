"""``fleetsync local up|down|status`` start real processes and leave none behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from engine.errors import LocalClusterError
from engine.local import fleet, toolchain


def _fleetsync(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _recorded_pids(directory: Path) -> list[int]:
    state = fleet._State.load(directory)
    assert state is not None
    return [p.pid for p in state.processes]


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def test_up_twice_starts_nothing_new_and_down_leaves_no_process(tmp_path: Path) -> None:
    directory = tmp_path / "fleet"
    first = _fleetsync("local", "up", "--clusters", "1", "--dir", str(directory))
    try:
        assert first.returncode == 0, first.stderr
        pids = _recorded_pids(directory)
        kubectl = toolchain.find_binaries() / "kubectl"
        nodes = subprocess.run(
            [str(kubectl), "--kubeconfig", str(directory / "local-1.kubeconfig"), "get", "nodes"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        assert "local-1-node   Ready" in nodes.stdout

        second = _fleetsync("local", "up", "--clusters", "1", "--dir", str(directory))
        assert second.returncode == 0, second.stderr
        assert _recorded_pids(directory) == pids

        status = _fleetsync("local", "status", "--dir", str(directory))
        assert status.returncode == 0
        assert "local-1\trunning" in status.stdout
        registration = yaml.safe_load((directory / "clusters.yaml").read_text())
        assert registration["clusters"][0]["name"] == "local-1"
        assert registration["clusters"][0]["kubeconfig"] == "local-1.kubeconfig"
    finally:
        down = _fleetsync("local", "down", "--dir", str(directory))
    assert down.returncode == 0, down.stderr
    assert pids and not [pid for pid in pids if _running(pid)]
    assert fleet.status(directory) == []


def test_a_component_that_fails_to_start_reports_its_log_and_nothing_keeps_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = toolchain.find_binaries()
    fake = tmp_path / "bin"
    fake.mkdir()
    for name in toolchain.BINARIES:
        (fake / name).symlink_to(real / name)
    (fake / "kube-apiserver").unlink()
    script = "#!/bin/sh\necho 'E1127 boom: cannot serve on this port'\nexit 3\n"
    (fake / "kube-apiserver").write_text(script)
    os.chmod(fake / "kube-apiserver", 0o755)

    directory = tmp_path / "fleet"
    with pytest.raises(LocalClusterError) as raised:
        fleet.up(directory, 1, fake, log=lambda _m: None)
    assert "kube-apiserver exited with code 3" in str(raised.value)
    assert "boom: cannot serve on this port" in str(raised.value)
    assert fleet.status(directory) == []
    assert not (directory / fleet.STATE_FILE).exists()
