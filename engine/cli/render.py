"""``fleetsync render PATH``: print what ``kustomize build PATH`` prints, natively."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine import render


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``render`` command."""
    parser = sub.add_parser(
        "render", help="render a kustomization or manifest directory as multi-document YAML")
    parser.add_argument("path", type=Path, help="kustomization or plain manifest directory")
    parser.add_argument("--root", type=Path, default=None,
                        help="directory bounding every file read (default: PATH)")
    parser.add_argument("--recurse", action="store_true",
                        help="plain directories: include subdirectories")
    parser.set_defaults(handler=_render)


def _render(args: argparse.Namespace) -> int:
    objects = render.build(args.path, root=args.root, recurse=args.recurse)
    sys.stdout.write(render.to_yaml(objects))
    return 0
