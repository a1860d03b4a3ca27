"""The fleet load-test harness keeps working: its smoke configuration (2 real local
clusters x 20 apps, short windows, no plots) runs end to end as ``python -m loadtests fleet
--smoke`` and writes a result file holding every figure. Figures are not judged here: this
is a benchmark's harness, not a timed test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from loadtests import report

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(600)]


def test_smoke_run_writes_a_complete_result(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "loadtests", "fleet", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=540, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    [path] = tmp_path.glob("fleet-*-smoke.json")
    data = json.loads(path.read_text())
    assert report.missing(data) == []
    assert data["parameters"]["smoke"] is True
    assert data["parameters"]["pairs"] == 2 * 20
    assert data["latency"]["outage"]["clusters_up"] == ["local-1"]
    assert not list(tmp_path.glob("*.png"))
