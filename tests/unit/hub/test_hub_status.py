"""Statuses as stored and shown: condition messages never carry URL credentials."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.hub import status as st

TOKEN = "ghp_plantedInStatus0123"


def test_condition_messages_are_stored_without_url_credentials() -> None:
    found = st.conditions(None, [(st.COMPARISON_ERROR, "SourceFailed",
                                  f"https://robot:{TOKEN}@git.example/a.git: refused")],
                          datetime.now(UTC))  # fmt: skip
    assert TOKEN not in found[0].message
    assert found[0].message == "https://***@git.example/a.git: refused"
