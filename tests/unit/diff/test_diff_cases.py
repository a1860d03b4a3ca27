"""diff_object over YAML cases whose objects copy real shapes from the local clusters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.diff import IgnoreRule, diff_object, format_diff
from engine.model import SyncStatus

CASES = sorted((Path(__file__).parent / "cases").glob("*.yaml"))


def _load(path: Path) -> dict[str, Any]:
    case: dict[str, Any] = yaml.safe_load(path.read_text())
    return case


def _diff(case: dict[str, Any]) -> Any:
    return diff_object(
        desired=case["desired"],
        predicted=case["predicted"],
        live=case["live"],
        ignore=[IgnoreRule.from_argo(r) for r in case.get("ignore", [])],
    )


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_diff_reports_status_reason_paths_and_attribution(path: Path) -> None:
    case = _load(path)
    expect = case["expect"]
    diff = _diff(case)
    assert diff.status == SyncStatus(expect["status"])
    assert diff.reason == expect["reason"]
    assert list(diff.paths) == expect["paths"]
    got = [
        {"path": a.path, "manager": a.manager, "operation": a.operation, "time": a.time,
         **({"subresource": a.subresource} if a.subresource else {})}
        for a in diff.drift
    ]
    assert got == expect["drift"]


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_unified_diff_is_empty_only_when_in_sync(path: Path) -> None:
    diff = _diff(_load(path))
    assert (diff.unified == "") == (diff.status == SyncStatus.SYNCED)
    if diff.unified:
        assert diff.unified.startswith(f"--- live/{diff.key}\n+++ desired/{diff.key}\n")


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_unified_diff_never_shows_server_bookkeeping(path: Path) -> None:
    unified = _diff(_load(path)).unified
    for word in (
        "managedFields",
        "resourceVersion",
        "uid:",
        "creationTimestamp",
        "generation",
        "last-applied-configuration",
        "deployment.kubernetes.io/revision",
    ):
        assert word not in unified


SECRET_CASES = [p for p in CASES if "secrets" in _load(p)]


@pytest.mark.parametrize("path", SECRET_CASES, ids=[p.stem for p in SECRET_CASES])
def test_no_secret_value_appears_anywhere_in_the_output(path: Path) -> None:
    case = _load(path)
    diff = _diff(case)
    output = format_diff([diff]) + repr(diff)
    assert "++++++++" in diff.unified
    for value in case["secrets"]:
        assert value not in output


def test_changed_secret_key_is_marked_changed_in_the_unified_diff() -> None:
    diff = _diff(_load(Path(__file__).parent / "cases" / "secret-edited.yaml"))
    assert "-  password: ++++++++\n" in diff.unified
    assert "+  password: ++++++++ (changed)\n" in diff.unified
    assert "username" not in "".join(
        line
        for line in diff.unified.splitlines(keepends=True)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    )


def test_secret_values_are_shown_when_masking_is_off() -> None:
    case = _load(Path(__file__).parent / "cases" / "secret-edited.yaml")
    diff = diff_object(
        desired=case["desired"], predicted=case["predicted"], live=case["live"], mask_secrets=False
    )
    assert "aHVudGVyMg==" in diff.unified
