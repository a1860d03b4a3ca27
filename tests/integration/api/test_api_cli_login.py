"""``fleetsync login``, ``logout`` and ``account`` in-process against a real hub server."""

from __future__ import annotations

import io
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from engine.cli import main
from tests.integration.api.hub import ServedHub


@pytest.fixture
def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServedHub]:
    with ServedHub(tmp_path) as served:
        monkeypatch.delenv("FLEETSYNC_SERVER", raising=False)
        monkeypatch.delenv("FLEETSYNC_AUTH_TOKEN", raising=False)
        monkeypatch.setenv("FLEETSYNC_CONFIG", str(tmp_path / "cli" / "cli.yaml"))
        yield served


def run(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *argv: str,
        stdin: str = "") -> tuple[int, str, str]:  # fmt: skip
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_login_keeps_the_token_privately_and_logout_ends_it(
    served: ServedHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    password = served.hub.auth.initial_password_file.read_text().strip()
    code, out, _ = run(monkeypatch, capsys, "login", served.url, "--username", "admin",
                       "--password-stdin", stdin=password + "\n")
    assert (code, out) == (0, f"logged in to {served.url} as admin\n")
    path = tmp_path / "cli" / "cli.yaml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    token = yaml.safe_load(path.read_text())["servers"][served.url]["token"]
    code, out, _ = run(monkeypatch, capsys, "app", "list")  # the server and token kept
    assert code == 0 and "demo-dev" in out
    assert run(monkeypatch, capsys, "logout")[0] == 0
    assert served.url not in yaml.safe_load(path.read_text())["servers"]
    assert served.run(served.hub.auth.authenticate(token)) is None
    code, _, err = run(monkeypatch, capsys, "app", "list")
    assert code == 1 and "authentication required (401)" in err


def test_a_wrong_password_is_one_line_and_nothing_is_kept(
    served: ServedHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    code, _, err = run(monkeypatch, capsys, "login", served.url, "--username", "admin",
                       "--password-stdin", stdin="wrong\n")
    assert code == 1 and err == "fleetsync: error: invalid username or password (401)\n"
    assert not (tmp_path / "cli" / "cli.yaml").exists()


def test_account_password_and_tokens(
    served: ServedHub, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.setenv("FLEETSYNC_SERVER", served.url)
    monkeypatch.setenv("FLEETSYNC_AUTH_TOKEN", served.token)
    code, out, _ = run(monkeypatch, capsys, "account", "update-password", "--account", "alice",
                       "--password-stdin", stdin="alice's first password\n")
    assert (code, out) == (0, "password of alice updated\n")
    code, out, _ = run(monkeypatch, capsys, "account", "generate-token", "--account", "ci",
                       "--description", "pipeline")
    assert code == 0 and out.count(".") == 2  # a JWT, printed once
    code, out, _ = run(monkeypatch, capsys, "account", "tokens", "--account", "ci")
    assert code == 0 and '"description": "pipeline"' in out
    code, out, _ = run(monkeypatch, capsys, "account", "list")
    assert "alice\tlogin" in out and "ci\tapiKey" in out
