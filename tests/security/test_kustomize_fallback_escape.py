"""Class 7 of issue 8: the kustomize fallback escapes.

With ``render.kustomizeBinary`` set, an unsupported field sent the app to a binary that
read any directory on the hub's disk (another tenant's commit tree), fetched URLs, and ran
with the hub's whole environment. Now the kustomization graph is walked first (remote
entries and paths leaving the repository are refused before anything runs), and the
binary runs under bubblewrap seeing only the app's commit tree, with no network and a
cleared environment. ``directory.recurse`` and the ``reads`` set survive the fallback.

The sandbox tests use the real kustomize (``fleetsync local build``) and a small static Go
probe, built here, that prints what a binary in the sandbox can see.
"""

from __future__ import annotations

import http.server
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.render import (
    RenderBudget,
    RenderError,
    RenderTimeoutError,
    SecurityError,
)
from engine.renderer import fallback, sandbox
from engine.renderer.fallback import build_or_fallback
from tests.support.binaries import built
from tests.support.files import write

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  k: v\n"
UNSUPPORTED = "helmGlobals: {}\n"  # unsupported natively: sends the app to the binary



KUSTOMIZE = built("kustomize")
BWRAP = sandbox.find_bwrap()
needs_kustomize = pytest.mark.skipif(KUSTOMIZE is None, reason="kustomize not built "
                                     "(fleetsync local build)")
needs_bwrap = pytest.mark.skipif(BWRAP is None, reason="bwrap not installed (make test "
                                 "installs Debian's bubblewrap)")


@pytest.fixture()
def tenants(tmp_path: Path) -> tuple[Path, Path]:
    """Two commit trees side by side, as in the hub's data directory."""
    mine, other = tmp_path / "trees" / "a" / "sha1", tmp_path / "trees" / "b" / "sha2"
    write(other, {"kustomization.yaml": "resources: [cm.yaml]\n",
                  "cm.yaml": CM.format(name="stolen")})
    mine.mkdir(parents=True)
    return mine, other


def app(root: Path, resources: list[str], extra: str = UNSUPPORTED) -> Path:
    write(root, {"app/cm.yaml": CM.format(name="mine"),
                 "app/kustomization.yaml": f"resources: {['cm.yaml', *resources]}\n{extra}"})
    return root / "app"


# Refused before anything runs: paths leaving the tree, remote entries.

@pytest.mark.parametrize("entry", ["../../../b/sha2", "ABSOLUTE"])
def test_another_tenants_tree_is_refused_before_the_binary_runs(
        tenants: tuple[Path, Path], entry: str, monkeypatch: pytest.MonkeyPatch) -> None:
    mine, other = tenants
    entry = str(other) if entry == "ABSOLUTE" else entry
    monkeypatch.setattr(fallback, "run_kustomize", _must_not_run)
    with pytest.raises(SecurityError, match=r"^app/kustomization.yaml: resources entry .*"
                                            "outside the repository root"):
        build_or_fallback(app(mine, [entry]), root=mine, kustomize="/no/kustomize")


def test_symlink_to_another_tenant_is_refused_before_the_binary_runs(
        tenants: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    mine, other = tenants
    directory = app(mine, ["linked"])
    os.symlink(other, directory / "linked")
    monkeypatch.setattr(fallback, "run_kustomize", _must_not_run)
    with pytest.raises(SecurityError, match=r"'linked'.*outside the repository root"):
        build_or_fallback(directory, root=mine, kustomize="/no/kustomize")


REMOTE = {
    "resources": "resources: [https://raw.example.com/org/repo/main/cm.yaml]\n",
    "git-https": "resources: [https://github.com/org/repo//base?ref=v1]\n",
    "git-host-path": "resources: [github.com/org/repo/base?ref=v1]\n",
    "git-scp": "resources: ['git@github.com:org/repo.git']\n",
    "git-ssh": "bases: ['ssh://git@git.example.com/org/repo.git']\n",
    "components": "components: [https://example.com/component]\n",
    "patch-file": "patches:\n- path: https://example.com/patch.yaml\n",
    "generator-file": "configMapGenerator:\n- name: x\n  files: [k=https://example.com/f]\n",
    "helm-chart": "helmCharts:\n- name: redis\n  repo: https://charts.example.com\n",
    "plugin": "transformers: [https://example.com/transformer.yaml]\n",
}


@pytest.mark.parametrize("name", list(REMOTE))
def test_remote_entry_is_refused_before_the_binary_runs(
        tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"base/kustomization.yaml": REMOTE[name] + UNSUPPORTED,
                     "app/kustomization.yaml": "resources: [../base]\n" + UNSUPPORTED})
    monkeypatch.setattr(fallback, "run_kustomize", _must_not_run)
    with pytest.raises(SecurityError, match=r"^base/kustomization.yaml: .* is remote"):
        build_or_fallback(tmp_path / "app", root=tmp_path, kustomize="/no/kustomize")


def _must_not_run(*_args: object, **_kwargs: object) -> bytes:
    raise AssertionError("the kustomize binary ran")


def test_fallback_is_refused_without_bwrap(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: None)
    monkeypatch.setattr(subprocess, "Popen", _must_not_run)
    with pytest.raises(RenderError, match=r"^app: the kustomize fallback needs bubblewrap"):
        build_or_fallback(app(tmp_path, []), root=tmp_path, kustomize=KUSTOMIZE or "/bin/true")


# The sandbox itself (the graph walk is bypassed: what if it missed something?).

def test_sandbox_command_isolates_and_clears_everything() -> None:
    command = sandbox.kustomize_command("/usr/bin/bwrap", "/opt/k", "/data/trees/x", "app")
    for flag in ("--unshare-all", "--die-with-parent", "--new-session", "--clearenv"):
        assert flag in command
    assert command[command.index("--cap-drop") + 1] == "ALL"
    binds = [command[i + 1:i + 3] for i, a in enumerate(command) if a.endswith("bind")]
    assert binds == [["/data/trees/x", "/src"], ["/opt/k", "/kustomize"]]
    assert all(a == "--ro-bind" for a in command if a.endswith("bind"))
    env = [command[i + 1] for i, a in enumerate(command) if a == "--setenv"]
    assert env == ["PATH", "HOME"]
    assert command[-3:] == ["/kustomize", "build", "/src/app"]


@needs_kustomize
@needs_bwrap
def test_sandboxed_kustomize_cannot_read_another_tenants_tree(
        tenants: tuple[Path, Path]) -> None:
    mine, _ = tenants
    app(mine, ["../../../b/sha2"])  # kustomize refuses absolute directories itself
    assert KUSTOMIZE is not None
    unsandboxed = subprocess.run([KUSTOMIZE, "build", str(mine / "app")], capture_output=True,
                                 text=True, timeout=60, check=False)
    assert "stolen" in unsandboxed.stdout  # the layout really is an escape without bwrap
    with pytest.raises(RenderError, match="kustomize build failed") as info:
        sandbox.run_kustomize(KUSTOMIZE, mine, "app", where="app", budget=RenderBudget())
    assert "stolen" not in str(info.value) and str(mine) not in str(info.value)


@pytest.fixture()
def web(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server on loopback serving one ConfigMap."""
    (tmp_path / "served").mkdir()
    (tmp_path / "served" / "cm.yaml").write_text(CM.format(name="fetched"))

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), lambda *a: Quiet(*a, directory=str(tmp_path / "served")))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/cm.yaml"
    server.shutdown()
    server.server_close()


@needs_kustomize
@needs_bwrap
def test_sandboxed_kustomize_has_no_network(tmp_path: Path, web: str) -> None:
    root = tmp_path / "tree"
    app(root, [web])
    assert KUSTOMIZE is not None
    unsandboxed = subprocess.run([KUSTOMIZE, "build", str(root / "app")], capture_output=True,
                                 text=True, timeout=60, check=False)
    assert "fetched" in unsandboxed.stdout  # the server answers outside the sandbox
    with pytest.raises(RenderError, match="kustomize build failed"):
        sandbox.run_kustomize(KUSTOMIZE, root, "app", where="app", budget=RenderBudget())


PROBE = """package main

import (
\t"fmt"
\t"net"
\t"os"
\t"time"
)

func main() {
\tfor _, e := range os.Environ() {
\t\tfmt.Println("env", e)
\t}
\tfor _, p := range []string{os.Getenv("PROBE_OTHER"), "/src", os.Args[2]} {
\t\t_, err := os.ReadDir(p)
\t\tfmt.Println("readdir", p, err == nil)
\t}
\tconn, err := net.DialTimeout("tcp", os.Getenv("PROBE_DIAL"), 2*time.Second)
\tfmt.Println("dial", err == nil)
\tif conn != nil {
\t\tconn.Close()
\t}
}
"""


@pytest.fixture(scope="module")
def probe(tmp_path_factory: pytest.TempPathFactory) -> str:
    go = shutil.which("go") or ("/usr/local/go/bin/go" if os.path.exists("/usr/local/go/bin/go")
                                else None)
    if go is None:
        pytest.skip("no Go toolchain to build the probe")
    directory = tmp_path_factory.mktemp("probe")
    (directory / "main.go").write_text(PROBE)
    env = {**os.environ, "CGO_ENABLED": "0", "GOWORK": "off", "GOFLAGS": "",
           "GOTOOLCHAIN": "local"}
    subprocess.run([go, "build", "-o", "probe", "main.go"], cwd=directory, env=env,
                   check=True, timeout=300, capture_output=True)
    return str(directory / "probe")


@needs_bwrap
def test_a_binary_in_the_sandbox_sees_no_secret_no_other_tree_no_network(
        tenants: tuple[Path, Path], probe: str, monkeypatch: pytest.MonkeyPatch) -> None:
    mine, other = tenants
    app(mine, [])
    listener = socket.create_server(("127.0.0.1", 0))
    monkeypatch.setenv("FLEETSYNC_TEST_SECRET", "hunter2-hub-secret")
    monkeypatch.setenv("PROBE_OTHER", str(other))
    monkeypatch.setenv("PROBE_DIAL", f"127.0.0.1:{listener.getsockname()[1]}")
    try:
        assert BWRAP is not None
        command = sandbox.kustomize_command(BWRAP, probe, mine, "app")
        # The probe reads its instructions from the environment: hand them over explicitly
        # (and nothing else) to see what it can reach; the secret must not follow.
        at = command.index("--clearenv") + 1
        command[at:at] = ["--setenv", "PROBE_OTHER", str(other),
                          "--setenv", "PROBE_DIAL", os.environ["PROBE_DIAL"]]
        code, out, _ = sandbox.run_bounded(command, where="app", budget=RenderBudget())
    finally:
        listener.close()
    lines = out.decode().splitlines()
    assert code == 0
    assert "hunter2-hub-secret" not in out.decode()
    assert {line.split("=")[0] for line in lines if line.startswith("env ")} == {
        "env PATH", "env HOME", "env PWD", "env PROBE_OTHER", "env PROBE_DIAL"}
    assert f"readdir {other} false" in lines
    assert "readdir /src true" in lines and "readdir /src/app true" in lines
    assert "dial false" in lines


def test_bwrap_itself_gets_no_hub_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLEETSYNC_TEST_SECRET", "hunter2-hub-secret")
    seen: list[dict[str, str]] = []
    real_popen = subprocess.Popen

    def recording(*args: object, **kwargs: object) -> object:
        seen.append(dict(kwargs.get("env") or os.environ))  # type: ignore[call-overload]
        return real_popen(*args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(subprocess, "Popen", recording)
    sandbox.run_bounded(["/bin/true"], where="app", budget=RenderBudget().start())
    assert seen == [{"PATH": sandbox.SANDBOX_PATH}]


def test_sandbox_process_is_killed_at_the_deadline(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    budget = RenderBudget(timeout=0.5).start()
    with pytest.raises(RenderTimeoutError):
        sandbox.run_bounded(["/bin/sh", "-c", f"echo $$ > {pidfile}; exec sleep 120"], where="app",
                     budget=budget)
    pid = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_sandbox_output_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "MAX_OUTPUT_BYTES", 1000)
    with pytest.raises(SecurityError, match="output larger than the limit of 1000 bytes"):
        sandbox.run_bounded(["/bin/sh", "-c", "yes fleetsync | head -c 100000"], where="app",
                     budget=RenderBudget().start())


# What the fallback renders, and what it keeps.

@needs_kustomize
@needs_bwrap
def test_fallback_renders_in_the_sandbox_and_records_reads(tmp_path: Path) -> None:
    write(tmp_path, {"base/kustomization.yaml": "resources: [cm.yaml]\n",
                     "base/cm.yaml": CM.format(name="base"),
                     "app/kustomization.yaml":
                         "resources: [../base]\nnamePrefix: p-\n" + UNSUPPORTED})
    reads: set[str] = set()
    objects = build_or_fallback(tmp_path / "app", root=tmp_path, kustomize=KUSTOMIZE,
                                reads=reads)
    assert [o["metadata"]["name"] for o in objects] == ["p-base"]
    assert {"app", "base"} <= reads


def test_recurse_keeps_nested_files_through_the_fallback(tmp_path: Path) -> None:
    write(tmp_path, {"manifests/top.yaml": CM.format(name="top"),
                     "manifests/nested/deeper/inner.yaml": CM.format(name="inner")})
    reads: set[str] = set()
    objects = build_or_fallback(tmp_path / "manifests", root=tmp_path,
                                kustomize=KUSTOMIZE or "/no/kustomize", recurse=True,
                                reads=reads)
    assert sorted(o["metadata"]["name"] for o in objects) == ["inner", "top"]
    assert "manifests/nested/deeper/inner.yaml" in reads
