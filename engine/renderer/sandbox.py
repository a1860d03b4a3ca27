"""Running the kustomize or helm binary in a bubblewrap sandbox that sees one commit tree only.

Not pure (runs a subprocess). The binaries read whatever paths a kustomization or a chart
names and fetch URLs; on the hub that would be every tenant's trees and the hub's own
files, with the hub's environment (credentials). So they run under ``bwrap``: no network
and no other namespace shared (``--unshare-all``), the commit tree read-only at ``/src``,
the binary read-only at ``/kustomize`` or ``/helm``, an app's inline Helm values read-only
at ``/values``, an empty ``/tmp``, a cleared environment (``PATH`` and ``HOME=/tmp`` only),
all capabilities dropped, its own session, killed with the hub. Without bwrap the
binaries are refused: they never run unsandboxed.

Its output is read through a pipe while it runs (so it cannot run ahead of the reader):
more than ``MAX_OUTPUT_BYTES``, the render's deadline or a cancel kills the sandbox.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

from engine.render.budget import RenderBudget
from engine.render.errors import RenderError, SecurityError

SOURCE = "/src"
BINARY = "/kustomize"
HELM = "/helm"
VALUES = "/values"
MAX_OUTPUT_BYTES = 64 * 1024 * 1024
MAX_STDERR = 64 * 1024
MAX_MESSAGE = 300
POLL_SECONDS = 0.05
SANDBOX_PATH = "/usr/bin:/bin"


def find_bwrap() -> str | None:
    """The bubblewrap executable, or None when it is not installed."""
    return shutil.which("bwrap") or next(
        (p for p in ("/usr/bin/bwrap", "/bin/bwrap") if os.access(p, os.X_OK)), None)


def kustomize_command(bwrap: str, binary: str | os.PathLike[str],
                      tree: str | os.PathLike[str], target: str,
                      helm: str | os.PathLike[str] | None = None) -> list[str]:
    """The bwrap command line building ``target`` (relative to ``tree``) in the sandbox;
    with ``helm``, Kustomize's ``helmCharts`` are inflated by that binary, in the sandbox
    too."""
    inside = f"{SOURCE}/{target}".rstrip("/") if target not in ("", ".") else SOURCE
    if helm is None:
        return _sandboxed(bwrap, tree, {binary: BINARY}, [BINARY, "build", inside])
    return _sandboxed(bwrap, tree, {binary: BINARY, helm: HELM},
                      [BINARY, "build", "--enable-helm", "--helm-command", HELM, inside])


def _sandboxed(bwrap: str, tree: str | os.PathLike[str],
               binds: dict[str | os.PathLike[str], str], command: list[str]) -> list[str]:
    """``command`` under bwrap: the tree at ``SOURCE`` and each of ``binds`` (host path:
    sandbox path) read-only, nothing else of the host."""
    mounts = [arg for host, inside in binds.items()
              for arg in ("--ro-bind", os.path.realpath(host), inside)]  # fmt: skip
    return [
        bwrap,
        "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
        "--clearenv", "--setenv", "PATH", SANDBOX_PATH, "--setenv", "HOME", "/tmp",
        "--ro-bind", os.path.realpath(tree), SOURCE, *mounts,
        "--tmpfs", "/tmp", "--proc", "/proc", "--dev", "/dev",
        "--chdir", SOURCE,
        *command,
    ]


def helm_command(bwrap: str, binary: str | os.PathLike[str], tree: str | os.PathLike[str],
                 values: str | os.PathLike[str], arguments: list[str]) -> list[str]:
    """The bwrap command line running ``helm template`` with ``arguments`` (paths in the
    sandbox: the tree at ``SOURCE``, the directory ``values`` at ``VALUES``)."""
    return _sandboxed(bwrap, tree, {values: VALUES, binary: HELM}, [HELM, "template", *arguments])


def run_helm(binary: str, tree: Path, values: Path, arguments: list[str], *, where: str,
             budget: RenderBudget) -> bytes:
    """The stdout of ``helm template`` inside the sandbox (``where`` names the chart)."""
    return _run_tool("helm", "helm template", binary,
                     lambda bwrap: helm_command(bwrap, binary, tree, values, arguments),
                     needs="Helm charts are rendered with the helm binary, which",
                     where=where, budget=budget)


def _run_tool(tool: str, action: str, binary: str, command: Callable[[str], list[str]], *,
              needs: str, where: str, budget: RenderBudget) -> bytes:  # fmt: skip
    """The stdout of ``command`` (given the bwrap executable); errors name ``where``, what
    ``needs`` bwrap, the ``tool`` and its ``action``."""
    bwrap = find_bwrap()
    if bwrap is None:
        raise RenderError(f"{where}: {needs} needs bubblewrap (bwrap, Debian package "
                          "bubblewrap) for its sandbox; it is not installed")
    if not os.access(binary, os.X_OK):
        raise RenderError(f"{where}: the configured {tool} binary is not executable")
    code, out, err = run_bounded(command(bwrap), where=where, budget=budget)
    if code != 0:
        raise RenderError(f"{where}: {action} failed: {_message(err)}")
    return out


def run_kustomize(binary: str, tree: Path, target: str, *, where: str,
                  budget: RenderBudget, helm: str | None = None) -> bytes:
    """The stdout of ``kustomize build`` on ``target`` inside the sandbox.

    ``where`` names the app directory in messages (relative to the repository root).
    """
    return _run_tool("kustomize", "kustomize build", binary,
                     lambda bwrap: kustomize_command(bwrap, binary, tree, target, helm),
                     needs="the kustomize fallback", where=where, budget=budget)


def run_bounded(command: list[str], *, where: str, budget: RenderBudget,
                env: dict[str, str] | None = None) -> tuple[int, bytes, bytes]:  # fmt: skip
    """Run ``command``: (exit code, stdout, the start of stderr). Killed on any limit: the
    render's deadline or cancel, more than ``MAX_OUTPUT_BYTES`` of output. ``env`` replaces
    the environment (default: ``PATH`` only)."""
    try:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env or {"PATH": SANDBOX_PATH},
                                start_new_session=True)
    except OSError as error:
        raise RenderError(f"{where}: cannot start the render sandbox: "
                          f"{error.strerror}") from error
    out, err = bytearray(), bytearray()
    try:
        with selectors.DefaultSelector() as selector:
            assert proc.stdout is not None and proc.stderr is not None
            selector.register(proc.stdout, selectors.EVENT_READ, out)
            selector.register(proc.stderr, selectors.EVENT_READ, err)
            while selector.get_map():
                for key, _ in selector.select(POLL_SECONDS):
                    chunk = os.read(key.fd, 65536)
                    if not chunk:
                        selector.unregister(key.fileobj)
                    elif key.data is out:
                        out += chunk
                        if len(out) > MAX_OUTPUT_BYTES:
                            raise SecurityError(f"{where}: rendered output larger than the "
                                                f"limit of {MAX_OUTPUT_BYTES} bytes")
                    elif len(err) < MAX_STDERR:
                        err += chunk
                budget.check(where)
        while True:  # both pipes closed: the sandbox is exiting
            try:
                return proc.wait(timeout=POLL_SECONDS), bytes(out), bytes(err)
            except subprocess.TimeoutExpired:
                budget.check(where)
    finally:
        if proc.returncode is None:
            _kill(proc)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):  # bwrap, and kustomize by --die-with-parent
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _message(err: bytes) -> str:
    """The error line of kustomize's stderr, with sandbox paths made repository-relative."""
    lines = err.decode("utf-8", errors="replace").splitlines()
    errors = [line for line in lines if line.startswith(("Error", "bwrap:"))]
    chosen = (errors or [line for line in lines if line.strip()] or ["(no message)"])[0]
    chosen = (chosen.replace(f"{SOURCE}/", "").replace(f"'{SOURCE}'", "'.'")
              .replace(f"{VALUES}/", "(inline values) "))
    return chosen if len(chosen) <= MAX_MESSAGE else chosen[:MAX_MESSAGE] + "..."
