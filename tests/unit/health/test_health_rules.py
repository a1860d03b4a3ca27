"""Every built-in health rule and outcome, one YAML case each (cases/*.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.health import HealthResult, assess
from engine.model import HealthStatus

CASES = Path(__file__).parent / "cases"


def _load() -> list[Any]:
    params = []
    for path in sorted(CASES.glob("*.yaml")):
        for case in yaml.safe_load(path.read_text()):
            params.append(pytest.param(case, id=f"{path.stem}: {case['case']}"))
    return params


@pytest.mark.parametrize("case", _load())
def test_rule(case: dict[str, Any]) -> None:
    result = assess(case["object"])
    assert isinstance(result, HealthResult)
    assert result.status is HealthStatus(case["expect"]), result.message
    assert case["message"] in result.message
    if not case["message"]:
        assert result.message == ""
