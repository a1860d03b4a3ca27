"""``fleetsync app ...`` in-process against a real hub server on loopback."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from engine.cli import main
from engine.hub.decisions import Request
from engine.model import TargetKey
from engine.model.reconciles import Trigger
from engine.model.status import AUTOMATED_SYNC_DISABLED
from tests.integration.api.hub import ServedHub


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServedHub]:
    with ServedHub(tmp_path) as served:
        monkeypatch.setenv("FLEETSYNC_SERVER", served.url)
        monkeypatch.setenv("FLEETSYNC_AUTH_TOKEN", served.token)
        monkeypatch.setenv("FLEETSYNC_CONFIG", str(tmp_path / "cli.yaml"))
        yield served


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["app", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_list_prints_one_row_per_app_and_cluster(served: ServedHub, capsys) -> None:
    code, out, _ = run(capsys, "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "CLUSTER", "SYNC", "HEALTH", "REVISION", "OPERATION"]
    assert lines[2].split() == ["demo-dev", "dev", "Synced", "Healthy", "b" * 10, "Succeeded"]
    assert lines[4].split() == ["fleet", "dev", "Unknown", "Unknown", "-", "-"]
    assert lines[5].split() == ["fleet", "prod", "OutOfSync", "Degraded", "c" * 10, "Failed"]
    assert lines[1].startswith("broken ") and "no registered cluster is named" in lines[1]


def test_list_as_json_is_the_api_answer(served: ServedHub, capsys) -> None:
    code, out, _ = run(capsys, "list", "-o", "json")
    assert code == 0
    assert [a["name"] for a in json.loads(out)["apps"]] == [
        "broken",
        "demo-dev",
        "demo-prod",
        "fleet",
    ]


def test_get_shows_settings_status_conditions_and_resources(served: ServedHub, capsys) -> None:
    code, out, _ = run(capsys, "get", "fleet")
    assert code == 0
    assert "source:      https://git.example/demo.git @ main" in out
    assert "sync policy: manual" in out
    assert "ApplyFailed" in out and "Deployment web: forbidden" in out
    rows = [line.split() for line in out.splitlines()]
    assert [
        "prod",
        "fleet",
        "Deployment.apps",
        "web",
        "Synced",
        "Healthy",
        "3/3",
        "replicas",
        "available",
    ] in rows


def test_history_of_one_cluster(served: ServedHub, capsys) -> None:
    code, out, _ = run(capsys, "history", "demo-dev", "--cluster", "dev")
    assert code == 0
    ids = [line.split()[0] for line in out.splitlines()[1:]]
    assert ids == [str(served.ids["dev2"]), str(served.ids["dev1"])]
    code, out, _ = run(capsys, "history", "demo-dev", "--limit", "1", "-o", "json")
    assert [h["id"] for h in json.loads(out)["history"]] == [served.ids["dev2"]]


def test_sync_passes_cluster_revision_prune_and_the_account(served: ServedHub, capsys) -> None:
    code, out, _ = run(capsys, "sync", "fleet", "--cluster", "prod", "--revision", "v1", "--prune")
    assert (code, out) == (0, "queued: fleet@prod\n")
    pending = served.hub.runtime.pending(TargetKey("fleet", "prod"))
    assert pending == Request("manual:admin", revision="v1", prune=True)
    assert served.hub.runtime.pending(TargetKey("fleet", "dev")) is None


def test_the_recorded_user_is_the_token_s_account(served: ServedHub, capsys, monkeypatch) -> None:
    monkeypatch.setenv("FLEETSYNC_USER", "carol")  # what the CLI once sent; no longer trusted
    assert run(capsys, "sync", "demo-dev")[0] == 0
    assert served.hub.runtime.pending(TargetKey("demo-dev", "dev")) == Request("manual:admin")


def test_refresh_hard(served: ServedHub, capsys) -> None:
    code, out, _ = run(capsys, "refresh", "demo-prod", "--hard")
    assert (code, out) == (0, "queued: demo-prod@prod\n")
    assert served.hub.scheduler.queue.trigger_of(TargetKey("demo-prod", "prod")) is Trigger.MANUAL


def test_rollback_to_an_entry(served: ServedHub, capsys) -> None:
    entry = served.ids["dev1"]
    code, out, _ = run(capsys, "rollback", "demo-dev", str(entry), "-o", "json")
    assert code == 0
    assert json.loads(out) == {"queued": [{"app": "demo-dev", "cluster": "dev"}]}
    pending = served.hub.runtime.pending(TargetKey("demo-dev", "dev"))
    assert pending == Request(f"rollback:{entry}", revision="a" * 40)
    setting = served.run(served.hub.store.get_app_setting("demo-dev", AUTOMATED_SYNC_DISABLED))
    assert setting is True


def test_errors_of_the_hub_are_one_line_and_exit_1(served: ServedHub, capsys) -> None:
    code, out, err = run(capsys, "get", "nope")
    assert (code, out) == (1, "")
    assert err == "fleetsync: error: no app named nope (404)\n"
    code, _, err = run(capsys, "rollback", "demo-dev", "999")
    assert code == 1 and err == "fleetsync: error: no history entry 999 for app demo-dev (404)\n"


def test_an_unreachable_hub_is_a_clear_error(capsys) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    code, out, err = run(capsys, "list", "--server", f"http://127.0.0.1:{port}",
                         "--request-timeout", "2")
    assert (code, out) == (1, "")
    assert err.startswith(f"fleetsync: error: cannot reach the hub at http://127.0.0.1:{port}")
    assert "fleetsync serve" in err and err.count("\n") == 1


def test_wait_ends_when_synced_and_healthy_and_times_out_with_2(served: ServedHub,
                                                                capsys) -> None:
    code, _, err = run(capsys, "wait", "demo-dev", "--health", "--sync", "--timeout", "10s")
    assert (code, err) == (0, "demo-dev: dev Synced/Healthy\n")
    code, _, err = run(capsys, "wait", "fleet", "--health", "--wait-timeout", "1s")
    assert code == 2
    assert err.splitlines() == ["fleet: dev Unknown/Unknown, prod OutOfSync/Degraded",
                                "fleet: not done after 1s"]


def test_wide_and_yaml_output(served: ServedHub, capsys) -> None:
    code, out, _ = run(capsys, "list", "-o", "wide")
    assert code == 0 and out.splitlines()[0].split()[-3:] == ["PROJECT", "NAMESPACE", "SOURCE"]
    code, out, _ = run(capsys, "get", "demo-dev", "-o", "yaml")
    assert code == 0 and yaml.safe_load(out)["name"] == "demo-dev"


def test_cluster_and_project_lists(served: ServedHub, capsys) -> None:
    code = main(["cluster", "list"])
    out = capsys.readouterr().out
    assert code == 0 and out.splitlines()[0].split() == ["NAME", "SERVER", "REACHABLE",
                                                         "LABELS", "ERROR"]
    assert out.splitlines()[1].split()[:3] == ["dev", "https://127.0.0.1:6443", "yes"]
    code = main(["project", "list", "-o", "json"])
    body = json.loads(capsys.readouterr().out)
    assert code == 0 and [(p["name"], p["apps"]) for p in body["projects"]] == [("default", 4)]


def test_deletions_lists_held_ones_and_delete_confirms_or_refuses(
    served: ServedHub, capsys
) -> None:
    from engine.apps import AppTarget
    from engine.apps.targets import TargetOptions

    gone = {TargetKey(app, "dev"): AppTarget(key=TargetKey(app, "dev"), project="default",
                                              repo_url="r", revision="main", path=app,
                                              namespace=app,
                                              options=TargetOptions(cascade="Foreground"))
            for app in ("gone-1", "gone-2")}  # fmt: skip

    async def remove() -> None:
        served.hub.deletions.removed(gone, defined=served.hub.catalog.defined(), apps=6)

    served.run(remove())
    code, out, _ = run(capsys, "deletions")
    assert code == 0
    rows = [line.split()[:4] for line in out.splitlines()]
    assert rows[0] == ["APP", "PROJECT", "STATE", "CLUSTERS"]
    assert rows[1:] == [["gone-1", "default", "Held", "dev"], ["gone-2", "default", "Held", "dev"]]
    code, out, _ = run(capsys, "delete", "gone-1", "--cascade", "false")
    assert code == 0 and out.strip() == "gone-1: untracked; its objects are left in the clusters"
    code, _, err = run(capsys, "delete", "demo-dev")
    assert code == 1 and "still defined" in err
    code, out, _ = run(capsys, "deletions", "-o", "json")
    assert [d["app"] for d in json.loads(out)["deletions"]] == ["gone-2"]


def test_a_dry_run_cannot_wait_or_take_another_revision(served: ServedHub, capsys) -> None:
    for extra in (["--wait"], ["--revision", "abc"]):
        with pytest.raises(SystemExit, match="--dry-run compares the app's own revision"):
            run(capsys, "sync", "demo-dev", "--dry-run", *extra)
