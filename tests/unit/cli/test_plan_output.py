"""How ``fleetsync plan`` prints: exit codes, the table, and Markdown that stays inert
whatever names and diffs a repository brings."""

from __future__ import annotations

import re
from typing import Any

import pytest

from engine.cli.plan import exit_code, markdown, text


def _target(app: str, state: str, objects: list[dict[str, Any]] | None = None,
            **extra: Any) -> dict[str, Any]:
    return {"app": app, "cluster": "c1", "project": "p", "state": state, "base": "a" * 40,
            "revision": "b" * 40, "prune": True, "pruneHeld": None, "message": "",
            "objects": objects or [], **extra}


def _object(action: str, name: str, diff: str = "") -> dict[str, Any]:
    return {"group": "apps", "kind": "Deployment", "namespace": "ns", "name": name,
            "sync": "OutOfSync", "reason": "Drift", "paths": ["spec.replicas"], "drift": [],
            "diff": diff, "action": action}


def _body(*targets: dict[str, Any]) -> dict[str, Any]:
    states = [t["state"] for t in targets]
    summary = {"targets": len(targets), "clustersChanging": 1, "appsChanging": 1,
               "created": 0, "changed": 1, "pruned": 0, "kept": 0, "pruneHeld": 0,
               **{s: states.count(s) for s in ("Changes", "NoChanges", "Unchanged",
                                               "Blocked", "Error", "Skipped")}}
    return {"revision": "pr-7", "base": None, "summary": summary, "targets": list(targets)}


@pytest.mark.parametrize(("states", "code"), [
    (["Unchanged", "NoChanges", "Skipped"], 0), (["Changes", "Unchanged"], 1),
    (["Changes", "Error"], 2), (["Blocked"], 2)])
def test_exit_codes_say_nothing_changes_changes_or_could_not_plan(states: list[str],
                                                                  code: int) -> None:
    assert exit_code(_body(*(_target(f"a{i}", s) for i, s in enumerate(states)))) == code


def test_the_table_names_each_object_and_its_changed_fields() -> None:
    shown = text(_body(_target("web", "Changes", [_object("update", "web")]),
                       _target("db", "Unchanged", message="no file its render reads changed")))
    assert " update Deployment.apps ns/web  (spec.replicas)" in shown
    assert "no file its render reads changed" in shown
    assert "1 of 2 target(s) change" in shown


def test_markdown_keeps_hostile_names_and_diffs_inert() -> None:
    diff = "-a\n+```\n+<script>alert(1)</script>\n"
    shown = markdown(_body(_target("x|<img src=x onerror=alert(1)>", "Changes",
                                   [_object("update", "web", diff)])))
    assert not re.search(r"(?<!\\)<img", shown), shown  # escaped in the table
    assert "<summary>x|&lt;img src=x" in shown  # and inside the HTML of a folded part
    assert "| x\\|\\<img" in shown
    # The diff's own backticks cannot close the fence around it.
    fences = [line for line in shown.splitlines() if line.startswith("````")]
    assert fences == ["````diff", "````"], shown
