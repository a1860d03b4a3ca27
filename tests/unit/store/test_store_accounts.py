"""The failed-login counters are bounded: only the newest ``MAX_FAILURE_ROWS`` are kept, so
an attacker trying from many addresses cannot grow the store without end."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from engine.store import Store, accounts


async def test_only_the_newest_failure_counters_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(accounts, "MAX_FAILURE_ROWS", 3)
    async with await Store.open(tmp_path / "fleetsync.db") as store:
        for second in range(6):
            await store.accounts.note_login_failure([f"addr:10.0.0.{second}"], now=100 + second,
                                                    window=60)
    with sqlite3.connect(tmp_path / "fleetsync.db") as conn:
        kept = [r[0] for r in conn.execute("SELECT key FROM login_failure ORDER BY since")]
    assert kept == ["addr:10.0.0.3", "addr:10.0.0.4", "addr:10.0.0.5"]
