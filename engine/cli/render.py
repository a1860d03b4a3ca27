"""``fleetsync render``: print what ``kustomize build`` prints, natively.

``fleetsync render PATH`` renders a local directory as ``kustomize build PATH`` does: it
reaches the kustomization directories PATH names (``../../base``) anywhere in the Git work
tree holding PATH (outside a work tree: anywhere), while files stay inside their own
kustomization's directory (``Builder.file_ref``); ``--root`` bounds reads explicitly.
``fleetsync render --repo URL --revision REV --path P`` renders path P of a Git commit
(the whole tree of that commit is the root that bounds every read, as on the hub).
A render of no object prints nothing and says so on stderr (exit 0, as ``kustomize
build`` of an empty kustomization): the hub shows the same as a warning on the app.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from engine import render
from engine.apps.helm import HelmOptions
from engine.cli import add_command
from engine.errors import ConfigError
from engine.renderer.fallback import build_or_fallback
from engine.renderer.helm import HelmRun


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``render`` command."""
    parser = add_command(sub, "render")
    parser.add_argument("path", type=Path, nargs="?", default=None,
                        help="kustomization or plain manifest directory")
    parser.add_argument("--root", type=Path, default=None,
                        help="directory bounding every file read (default: the Git work "
                             "tree holding PATH, else the filesystem root)")
    parser.add_argument("--recurse", action="store_true",
                        help="plain directories: include subdirectories")
    parser.add_argument("--repo", default=None, help="Git repository URL to render from")
    parser.add_argument("--revision", default="HEAD", help="branch, tag or SHA (default HEAD)")
    parser.add_argument("--path", dest="repo_path", default=".",
                        help="path inside the repository (with --repo)")
    parser.add_argument("--kustomize", default=None, metavar="BINARY",
                        help="render with this kustomize binary when a field is unsupported")
    parser.add_argument("--helm", default=None, metavar="BINARY",
                        help="render a Helm chart (a directory with Chart.yaml) with this helm")
    parser.add_argument("--release", default="release-name",
                        help="the Helm release name (default release-name, as helm template)")
    parser.add_argument("--namespace", default="default", help="the Helm release namespace")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="Git mirror cache (with --repo; default: a temporary directory)")
    parser.set_defaults(handler=_render)


def _render(args: argparse.Namespace) -> int:
    if args.repo is not None:
        objects = _render_from_git(args)
    elif args.path is not None:
        objects = _build(args.path, args.root or default_root(args.path), args)
    else:
        raise ConfigError("render: give a PATH or --repo URL")
    if not objects:
        print(f"fleetsync render: {render.EMPTY_RENDER}", file=sys.stderr)
    sys.stdout.write(render.to_yaml(objects))
    return 0


def default_root(path: Path) -> Path:
    """The root of a local render of ``path``: the nearest enclosing directory holding
    ``.git`` (a work tree; ``.git`` may be a file in a linked work tree), else ``/``."""
    start = path.resolve()
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return Path(start.anchor)


def _render_from_git(args: argparse.Namespace) -> list[dict[str, Any]]:
    import asyncio  # only Git renders need it: a local render starts without it

    from engine.source import GitSource

    with tempfile.TemporaryDirectory(prefix="fleetsync-render-") as scratch:
        cache_dir = args.cache_dir or Path(scratch) / "git"
        tree = Path(scratch) / "tree"

        async def fetch() -> None:
            # the command's user reads their own disk anyway: local repositories are fine here
            source = GitSource(cache_dir, allow_local=True)
            sha = await source.resolve(repo=args.repo, revision=args.revision)
            await source.materialise(repo=args.repo, sha=sha, dest=tree)

        asyncio.run(fetch())
        target = (tree / args.repo_path).resolve()
        return _build(target, tree, args)


def _build(path: Path, root: Path | None, args: argparse.Namespace) -> list[dict[str, Any]]:
    helm = (HelmRun(args.helm, HelmOptions(), args.release, args.namespace)
            if args.helm else None)  # fmt: skip
    return build_or_fallback(path, root=root, kustomize=args.kustomize or None,
                             recurse=args.recurse, helm=helm, helm_binary=args.helm or None)
