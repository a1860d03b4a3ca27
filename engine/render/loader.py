"""Safe file access and YAML parsing for the renderer.

Every read of the renderer goes through one ``RepoReader`` rooted at the repository
root, so the guards live here and nowhere else: paths are resolved (symlinks
included) and refused when they leave the root; files are size-limited. YAML is
parsed with the core schema of YAML 1.2 (as kustomize's parser does: ``on``/``yes``
stay strings, dates stay strings) and refused when it would expand beyond a node
budget (alias "billion laughs" bombs) or holds too many objects.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from engine.render.errors import RenderError, SecurityError

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_EXPANDED_NODES = 1_000_000
MAX_OBJECTS = 20_000

_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CoreLoader(_BaseLoader):  # type: ignore[misc,valid-type]
    """A safe loader with YAML 1.2 core-schema scalars and no timestamps."""


_CoreLoader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", "~nN"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
):
    _CoreLoader.add_implicit_resolver(_tag, re.compile(_pattern), list(_first))
_CoreLoader.add_implicit_resolver("tag:yaml.org,2002:null", re.compile(r"^$"), [""])


class Yaml11Loader(_BaseLoader):  # type: ignore[misc,valid-type]
    """YAML 1.1 scalars (``yes``, ``on``, ``y`` are booleans) as kustomize reads its own
    kustomization files; dates stay strings."""


Yaml11Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in _BaseLoader.yaml_implicit_resolvers.items()
}
Yaml11Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:y|Y|n|N)$"), list("yYnN"))


def _construct_bool11(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> bool:
    return str(loader.construct_scalar(node)).lower() in ("yes", "true", "on", "y")


Yaml11Loader.add_constructor("tag:yaml.org,2002:bool", _construct_bool11)


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith("0o"):
        return int(text[2:], 8)
    return int(text, 0) if text.startswith("0x") else int(text, 10)


_CoreLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


@dataclass(frozen=True)
class Document:
    """One parsed YAML document and where it came from."""

    value: Any
    source: str
    line: int


class RepoReader:
    """Reads files below one root directory, refusing anything that resolves outside it."""

    def __init__(self, root: str | os.PathLike[str], *, max_file_bytes: int | None = None,
                 reads: set[str] | None = None):
        self.root = Path(os.path.realpath(root))
        self.max_file_bytes = MAX_FILE_BYTES if max_file_bytes is None else max_file_bytes
        # Paths (relative to the root) of every file read and directory listed, if asked:
        # the hub re-renders an app only when a commit changes one of them.
        self.reads = reads
        if not self.root.is_dir():
            raise RenderError(f"{root}: repository root is not a directory")

    def resolve(self, path: str | os.PathLike[str]) -> Path:
        """The real path of ``path``; a RenderError if it lies outside the root."""
        real = Path(os.path.realpath(path))
        if real != self.root and self.root not in real.parents:
            raise SecurityError(f"{path}: refused, resolves outside the repository root")
        return real

    def display(self, path: Path) -> str:
        """``path`` relative to the root, for messages."""
        try:
            return str(path.relative_to(self.root)) or "."
        except ValueError:
            return str(path)

    def is_dir(self, path: Path) -> bool:
        """Whether ``path`` (inside the root) is a directory."""
        return self.resolve(path).is_dir()

    def is_file(self, path: Path) -> bool:
        """Whether ``path`` (inside the root) is a regular file."""
        return self.resolve(path).is_file()

    def list_dir(self, path: Path) -> list[Path]:
        """The entries of a directory inside the root, sorted by name."""
        real = self.resolve(path)
        self._record(real)
        return sorted(real / name for name in os.listdir(real))

    def read_bytes(self, path: Path) -> bytes:
        """The content of a file inside the root, at most ``max_file_bytes`` long."""
        real = self.resolve(path)
        if not real.is_file():
            raise RenderError(f"{self.display(path)}: no such file")
        if real.stat().st_size > self.max_file_bytes:
            raise SecurityError(
                f"{self.display(real)}: file larger than the limit of {self.max_file_bytes} bytes"
            )
        self._record(real)
        return real.read_bytes()

    def _record(self, real: Path) -> None:
        if self.reads is not None:
            relative = str(real.relative_to(self.root))
            self.reads.add("" if relative == "." else relative)

    def read_text(self, path: Path) -> str:
        """The UTF-8 content of a file inside the root."""
        data = self.read_bytes(path)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise RenderError(f"{self.display(path)}: not UTF-8 text ({err})") from err


def parse_documents(text: str, source: str, *, yaml11: bool = False) -> list[Document]:
    """Every non-empty YAML document of ``text``; errors name ``source`` and the line."""
    loader = Yaml11Loader(text) if yaml11 else _CoreLoader(text)
    documents: list[Document] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            _check_expansion(node, source)
            value = loader.construct_document(node)
            if value is not None:
                documents.append(Document(_unshare(value), source, node.start_mark.line + 1))
    except yaml.MarkedYAMLError as err:
        line = err.problem_mark.line + 1 if err.problem_mark else 0
        raise RenderError(f"{source}:{line}: invalid YAML: {err.problem}") from err
    except yaml.YAMLError as err:
        raise RenderError(f"{source}: invalid YAML: {err}") from err
    finally:
        loader.dispose()
    return documents


def _check_expansion(root: yaml.Node, source: str) -> None:
    """Refuse a document whose aliases would expand beyond the node budget."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, depth: int) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if depth > 200:
            raise SecurityError(f"{source}:{node.start_mark.line + 1}: YAML nested too deeply")
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(item, depth + 1) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        if total > MAX_EXPANDED_NODES:
            raise SecurityError(
                f"{source}:{root.start_mark.line + 1}: YAML document expands to more than "
                f"{MAX_EXPANDED_NODES} nodes (alias bomb?)"
            )
        sizes[id(node)] = total
        return total

    size(root, 0)


def _unshare(value: Any) -> Any:
    """A deep copy in which no two places share a container (aliases become copies)."""
    if isinstance(value, dict):
        return {_key(k): _unshare(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unshare(v) for v in value]
    return value


def _key(key: Any) -> Any:
    if isinstance(key, bool) or key is None:
        return "null" if key is None else str(key).lower()
    return key if isinstance(key, str) else str(key)


def iter_objects(value: Any, source: str) -> Iterator[dict[str, Any]]:
    """The objects of one document: itself, or the items of a ``kind: *List``."""
    if not isinstance(value, dict):
        raise RenderError(f"{source}: expected a YAML mapping, got {type(value).__name__}")
    kind = value.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and "items" in value:
        items = value.get("items") or []
        if not isinstance(items, list):
            raise RenderError(f"{source}: items of {kind} is not a list")
        for item in items:
            yield from iter_objects(item, source)
        return
    yield value


def check_object_count(count: int, where: str) -> None:
    """Refuse a render holding more than MAX_OBJECTS objects."""
    if count > MAX_OBJECTS:
        raise SecurityError(f"{where}: render holds more than {MAX_OBJECTS} objects")
