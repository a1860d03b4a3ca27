"""Build the real Kubernetes binaries of clusters/local from the Go module proxy, cached.

The Go modules under ``clusters/local/go/`` pin every version (``go.mod`` + ``go.sum``). The
binaries are built once into ``~/.cache/fleetsync/bin/<key>/``, where the key hashes those
files, the Go version and the build recipe, so a change of pins builds a fresh set and an
unchanged checkout never rebuilds. A directory counts only once its ``complete`` marker is
written, after every binary is in place; builds go to a temporary directory first, so an
interrupted build never leaves a half-filled cache behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from engine.errors import LocalClusterError

# Bump when the way binaries are built changes, so old caches are not reused.
RECIPE = "3"
COMPLETE_MARKER = "complete"


@dataclass(frozen=True)
class GoTarget:
    """One binary: the Go module directory it is built in, its package and output name."""

    module: str
    package: str
    binary: str


TARGETS: tuple[GoTarget, ...] = (
    GoTarget("kubernetes", "k8s.io/kubernetes/cmd/kube-apiserver", "kube-apiserver"),
    GoTarget(
        "kubernetes", "k8s.io/kubernetes/cmd/kube-controller-manager", "kube-controller-manager"
    ),
    GoTarget("kubernetes", "k8s.io/kubernetes/cmd/kube-scheduler", "kube-scheduler"),
    GoTarget("kubernetes", "k8s.io/kubernetes/cmd/kubectl", "kubectl"),
    GoTarget("kubernetes", "sigs.k8s.io/kustomize/kustomize/v5", "kustomize"),
    GoTarget("etcd", "go.etcd.io/etcd/server/v3", "etcd"),
    GoTarget("kwok", "sigs.k8s.io/kwok/cmd/kwok", "kwok"),
    GoTarget("helm", "helm.sh/helm/v3/cmd/helm", "helm"),
)
BINARIES = tuple(t.binary for t in TARGETS)

Log = Callable[[str], None]


def go_modules_dir() -> Path:
    """The ``clusters/local/go`` directory of the checkout this package runs from."""
    return Path(__file__).resolve().parents[2] / "clusters" / "local" / "go"


def cache_root() -> Path:
    """Where built binaries are kept, outside any checkout."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "fleetsync" / "bin"


def _go_env() -> dict[str, str]:
    env = dict(os.environ)
    # The machine's own Go builds these pins; never download another toolchain.
    env.update(GOTOOLCHAIN="local", GOFLAGS="-buildvcs=false -mod=readonly", CGO_ENABLED="0")
    return env


def _go_version() -> str:
    go = shutil.which("go")
    if go is None:
        raise LocalClusterError("the Go toolchain ('go') is not on PATH; it builds clusters/local")
    out = subprocess.run(
        [go, "env", "GOVERSION"], capture_output=True, text=True, check=True, env=_go_env()
    )
    return out.stdout.strip()


def cache_key(modules_dir: Path, go_version: str) -> str:
    """Hash of every pin file, the Go version and the recipe: names one set of binaries."""
    digest = hashlib.sha256(f"{RECIPE}\n{go_version}\n".encode())
    for path in sorted(modules_dir.rglob("go.*")):
        digest.update(str(path.relative_to(modules_dir)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def is_complete(bin_dir: Path) -> bool:
    """True when every binary and the completion marker are present in ``bin_dir``."""
    return (bin_dir / COMPLETE_MARKER).exists() and all(
        (bin_dir / name).is_file() for name in BINARIES
    )


def find_binaries() -> Path:
    """The directory holding complete binaries; raises if they have not been built."""
    override = os.environ.get("FLEETSYNC_BIN_DIR")
    if override:
        bin_dir = Path(override)
        if not all((bin_dir / name).is_file() for name in BINARIES):
            raise LocalClusterError(f"FLEETSYNC_BIN_DIR={override} lacks one of {BINARIES}")
        return bin_dir
    bin_dir = cache_root() / cache_key(go_modules_dir(), _go_version())
    if not is_complete(bin_dir):
        raise LocalClusterError(
            f"local cluster binaries are not built in {bin_dir}; run `fleetsync local build`"
        )
    return bin_dir


def ensure_binaries(*, log: Log | None = None) -> Path:
    """Build the binaries unless the cache already holds them; return their directory."""
    say = log or _print
    if os.environ.get("FLEETSYNC_BIN_DIR"):
        return find_binaries()
    modules_dir = go_modules_dir()
    if not modules_dir.is_dir():
        raise LocalClusterError(
            f"{modules_dir} not found: build from a fleetsync checkout or set FLEETSYNC_BIN_DIR"
        )
    bin_dir = cache_root() / cache_key(modules_dir, _go_version())
    if is_complete(bin_dir):
        say(f"local cluster binaries cached in {bin_dir}")
        return bin_dir
    staging = bin_dir.with_name(f"{bin_dir.name}.building-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    started = time.monotonic()
    say(f"building local cluster binaries into {bin_dir} (a cold build takes a while)")
    try:
        for target in TARGETS:
            _build_one(modules_dir / target.module, target, staging, say)
        (staging / COMPLETE_MARKER).write_text(f"built in {time.monotonic() - started:.0f}s\n")
        shutil.rmtree(bin_dir, ignore_errors=True)
        staging.rename(bin_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    say(f"built {len(TARGETS)} binaries in {time.monotonic() - started:.0f}s")
    return bin_dir


def _print(message: str) -> None:
    print(f"[fleetsync local build] {message}", file=sys.stderr, flush=True)


def kubernetes_version(module_dir: Path) -> str | None:
    """The pinned ``k8s.io/kubernetes`` version in ``module_dir/go.mod``, if it requires one."""
    match = re.search(r"^\s*k8s\.io/kubernetes (v\S+)", (module_dir / "go.mod").read_text(), re.M)
    return match.group(1) if match else None


def helm_version(module_dir: Path) -> str | None:
    """The pinned ``helm.sh/helm/v3`` version in ``module_dir/go.mod``, if it requires one."""
    match = re.search(r"^\s*helm\.sh/helm/v3 (v\S+)", (module_dir / "go.mod").read_text(), re.M)
    return match.group(1) if match else None


def _ldflags(module_dir: Path) -> str:
    """Strip symbols; stamp Kubernetes and Helm binaries with their real version, as
    release builds do."""
    flags = ["-s", "-w"]
    helm = helm_version(module_dir)
    if helm:
        flags.append(f"-X=helm.sh/helm/v3/internal/version.version={helm}")
    version = kubernetes_version(module_dir)
    if version:
        major, minor = version.lstrip("v").split(".")[:2]
        for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
            flags += [
                f"-X={pkg}.gitVersion={version}",
                f"-X={pkg}.gitMajor={major}",
                f"-X={pkg}.gitMinor={minor}",
                f"-X={pkg}.gitTreeState=clean",
            ]
    return " ".join(flags)


def _build_one(module_dir: Path, target: GoTarget, out_dir: Path, say: Log) -> None:
    """Run ``go build`` for one target, printing a heartbeat while it compiles."""
    say(f"go build {target.package} -> {target.binary}")
    cmd = [
        "go",
        "build",
        "-trimpath",
        f"-ldflags={_ldflags(module_dir)}",
        "-o",
        str(out_dir / target.binary),
        target.package,
    ]
    started = time.monotonic()
    with subprocess.Popen(
        cmd,
        cwd=module_dir,
        env=_go_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    ) as proc:
        while True:
            try:
                output, _ = proc.communicate(timeout=60)
                break
            except subprocess.TimeoutExpired:
                say(f"  still building {target.binary}: {time.monotonic() - started:.0f}s")
    if proc.returncode != 0:
        tail = "\n".join(output.splitlines()[-20:])
        raise LocalClusterError(f"go build {target.package} failed in {module_dir}:\n{tail}")
    say(f"  {target.binary} done in {time.monotonic() - started:.0f}s")
