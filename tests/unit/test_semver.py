"""Chart version constraints as Helm reads them: exact, wildcards, ranges, caret, tilde,
alternatives; pre-releases only when asked for exactly; the highest match wins."""

from __future__ import annotations

import pytest

from engine.semver import InvalidConstraint, highest

VERSIONS = ["0.9.0", "1.0.0", "1.2.0", "1.2.5", "1.3.0-rc.1", "1.3.0", "2.0.0", "2.1.0-beta",
            "v2.0.1", "not-a-version"]


@pytest.mark.parametrize(("constraint", "expected"), [
    ("1.2.0", "1.2.0"), ("=1.2.5", "1.2.5"), ("*", "v2.0.1"), ("1.x", "1.3.0"),
    ("1.2.*", "1.2.5"), ("1.2", "1.2.5"), ("^1.2.0", "1.3.0"), ("^0.9.0", "0.9.0"),
    ("~1.2.0", "1.2.5"), (">=1.0.0 <2.0.0", "1.3.0"), (">= 1.0, < 1.3", "1.2.5"),
    ("<1.0.0 || >=2.0.0", "v2.0.1"), ("!=v2.0.1 >=2", "2.0.0"), ("1.3.0-rc.1", "1.3.0-rc.1"),
    (">3", None),
])  # fmt: skip
def test_constraints(constraint: str, expected: str | None) -> None:
    assert highest(VERSIONS, constraint) == expected


@pytest.mark.parametrize("constraint", ["", "latest", ">>1", "1.2.3.4"])
def test_unreadable_constraints_are_errors(constraint: str) -> None:
    with pytest.raises(InvalidConstraint):
        highest(VERSIONS, constraint)
