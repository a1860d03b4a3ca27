"""Regenerate the expected outputs of the Kustomize conformance corpus with the real binary.

Each case directory holds ``input/`` (the repository root), an optional ``target`` file
(the path to build, relative to ``input/``; default ``.``) and either ``expected.yaml``
(written here from ``kustomize build``) or ``expected-error.txt`` (a hand-written
substring of the native renderer's error; here we only check that kustomize fails
too, and keep its message in ``kustomize-error.txt`` for reference). A case with an
``unsupported.txt`` file is a field the native renderer refuses on purpose.

Usage: python tests/conformance/kustomize/regenerate.py [--kustomize PATH] [CASE...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def find_kustomize(explicit: str | None) -> str:
    """The kustomize binary: --kustomize, $KUSTOMIZE, clusters/local's toolchain, PATH."""
    candidates = [explicit, os.environ.get("KUSTOMIZE")]
    try:
        from engine.local.toolchain import find_binaries

        candidates.append(str(Path(find_binaries()) / "kustomize"))
    except Exception:  # the toolchain may not be built yet
        pass
    candidates += ["/tmp/kbuild/kustomize", shutil.which("kustomize")]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    sys.exit("kustomize binary not found (build it with `fleetsync local build`)")


def case_target(case: Path) -> Path:
    """The directory a case builds."""
    target = case / "target"
    relative = target.read_text().strip() if target.exists() else "."
    return case / "input" / relative


def regenerate(case: Path, kustomize: str) -> str:
    """Run kustomize on one case and update its expected files; returns a status word."""
    result = subprocess.run(
        [kustomize, "build", str(case_target(case))],
        capture_output=True, text=True, timeout=60, check=False,
    )
    if (case / "unsupported.txt").exists():
        return "error-ok"  # refused natively on purpose; kustomize may well accept it
    if (case / "expected-error.txt").exists():
        if result.returncode == 0:
            return "UNEXPECTED-SUCCESS"
        (case / "kustomize-error.txt").write_text(result.stderr.strip() + "\n")
        return "error-ok"
    if result.returncode != 0:
        return "FAILED: " + result.stderr.strip().splitlines()[0]
    (case / "expected.yaml").write_text(result.stdout)
    return "ok"


def main() -> int:
    """Regenerate all (or the named) cases and report any that disagree."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kustomize", default=None)
    parser.add_argument("cases", nargs="*")
    args = parser.parse_args()
    kustomize = find_kustomize(args.kustomize)
    names = args.cases or sorted(p.name for p in HERE.iterdir() if (p / "input").is_dir())
    bad = 0
    for name in names:
        status = regenerate(HERE / name, kustomize)
        bad += status not in ("ok", "error-ok")
        print(f"{name}: {status}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
