"""The native renderer against outputs of the real kustomize binary (objects and order)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engine.errors import RenderError
from engine.render import build

CORPUS = Path(__file__).parent / "kustomize"
CASES = sorted(p.name for p in CORPUS.iterdir() if (p / "input").is_dir())


def _target(case: Path) -> Path:
    target = case / "target"
    return case / "input" / (target.read_text().strip() if target.exists() else ".")


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 60
    assert sum((CORPUS / c / "expected-error.txt").exists() for c in CASES) >= 15


@pytest.mark.parametrize("name", CASES)
def test_native_render_matches_kustomize(name: str) -> None:
    case = CORPUS / name
    error = case / "expected-error.txt"
    if error.exists():
        with pytest.raises(RenderError) as info:
            build(_target(case), root=case / "input")
        assert error.read_text().strip() in str(info.value)
        return
    expected = [d for d in yaml.safe_load_all((case / "expected.yaml").read_text()) if d]
    actual = yaml.safe_load_all(_roundtrip(build(_target(case), root=case / "input")))
    assert [d for d in actual if d] == expected


def _roundtrip(objects: list[dict]) -> str:
    # Compare as the YAML text we print, parsed the same way as kustomize's output.
    from engine.render import to_yaml

    return to_yaml(objects)


@pytest.mark.parametrize("name", [c for c in CASES if (CORPUS / c / "expected.yaml").exists()])
def test_printed_yaml_is_byte_identical_to_kustomize(name: str) -> None:
    from engine.render import to_yaml

    case = CORPUS / name
    printed = to_yaml(build(_target(case), root=case / "input"))
    assert printed == (case / "expected.yaml").read_text()
