"""The CLI starts fast because a command imports only what it uses: ``--help``, ``render``,
``app`` and the other commands' help never load the hub, the cluster client or aiohttp.
(The times themselves are measured by loadtests/cli_startup_bench.py, not here.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import COMMANDS, main

ROOT = Path(__file__).resolve().parents[3]
HEAVY = ("kubernetes_asyncio", "aiohttp", "uvloop", "cryptography",
         "engine.hub", "engine.clusters", "engine.api", "engine.apply", "engine.scheduler")
# Runs one command (or only parses it) in a fresh interpreter; prints the heavy modules loaded.
PROBE = """
import json, sys
from engine.cli import build_parser, main
argv, run, heavy = json.loads(sys.argv[1]), sys.argv[2] == "run", tuple(sys.argv[3:])
try:
    main(argv) if run else build_parser(argv).parse_args(argv)
except SystemExit:
    pass
print(json.dumps(sorted(m for m in sys.modules if m.startswith(heavy))))
"""


def _heavy_modules_loaded(argv: list[str], *, run: bool) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv), "run" if run else "parse", *HEAVY],
        cwd=ROOT, capture_output=True, text=True, check=True, timeout=60,
    )
    loaded: list[str] = json.loads(done.stdout.splitlines()[-1])
    return loaded


@pytest.mark.parametrize(
    ("argv", "run"),
    [
        (["--help"], True),
        (["render", "--help"], True),
        (["render", "DIR"], True),
        (["app", "--help"], True),
        (["app", "list", "--server", "http://127.0.0.1:1"], False),
        (["serve", "--help"], True),
        (["sync", "--help"], True),
        (["diff", "DIR", "--cluster", "c", "--namespace", "n"], False),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_command_imports_no_heavy_module(argv: list[str], run: bool, tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: [cm.yaml]\n")
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    argv = [str(tmp_path) if arg == "DIR" else arg for arg in argv]
    assert _heavy_modules_loaded(argv, run=run) == []


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_gets_its_own_parser_when_run(
    name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as done:
        main([name, "--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: fleetsync {name} ")


def test_help_lists_every_command_with_its_summary(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    for name, command in COMMANDS.items():
        assert f"{name} {command.summary}" in out
