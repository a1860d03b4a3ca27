"""The one duration parser: Go durations and seconds, as fleetsync.yaml and Argo CD write them."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from engine.apps import parse_application
from engine.config.hub import parse_config
from engine.durations import parse_duration


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("5s", 5.0),
        ("3m", 180.0),
        ("1h30m", 5400.0),
        ("2m0s", 120.0),
        ("250ms", 0.25),
        ("300ms", 0.3),
        ("1.5h", 5400.0),
        (".5s", 0.5),
        ("10us", 1e-5),
        ("10µs", 1e-5),
        ("7ns", 7e-9),
        ("90", 90.0),
        ("2.5", 2.5),
        (" 30s ", 30.0),
        (12, 12.0),
        (0.5, 0.5),
        (0, 0.0),
    ],
)
def test_parse_duration_reads_go_durations_and_seconds(value: str | float, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "value",
    ["", "   ", "5x", "s", "s5", "1d", "5 minutes", "5s junk", "-5s", "+5s", "-3", "0x10",
     True, False, -1, -0.5, math.nan, math.inf, None, [5]],
)  # fmt: skip
def test_parse_duration_refuses_anything_else(value: object) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(("text", "seconds"), [("1.5h", 5400.0), (".5s", 0.5), ("2.5", 2.5)])
def test_hub_config_and_applications_read_a_duration_alike(
    tmp_path: Path, text: str, seconds: float
) -> None:
    config = parse_config(f"git: {{pollInterval: '{text}'}}\n",
                          source=tmp_path / "fleetsync.yaml")  # fmt: skip
    app = parse_application(
        yaml.safe_load(APP.format(text=text)), source="apps.yaml"
    )
    retry = app.sync_policy.retry
    assert retry is not None
    assert config.git.poll_interval == retry.duration == retry.max_duration == seconds
    assert app.sync_policy.options.reconcile_interval == seconds


APP = """
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {{name: web}}
spec:
  source: {{repoURL: https://git.example/web, path: base}}
  destination: {{server: https://kubernetes.default.svc, namespace: web}}
  syncPolicy:
    syncOptions: ['timeout.reconcile={text}']
    retry: {{backoff: {{duration: '{text}', maxDuration: '{text}'}}}}
"""
