"""Safe file access and YAML parsing for the renderer.

Every read of the renderer goes through one ``RepoReader`` rooted at the repository
root, so the guards live here and nowhere else: paths are resolved (symlinks
included) and refused when they leave the root; files are size-limited. YAML is
parsed with the core schema of YAML 1.2 (as kustomize's parser does: ``on``/``yes``
stay strings, dates stay strings) and refused when it would expand beyond a node
budget (alias "billion laughs" bombs), nests deeper than ``MAX_DEPTH`` or holds too many
objects. Nesting is bounded before anything recurses in Python: libyaml's parser refuses
more than 1,000 levels itself (its composer is recursive C, safe below that), and the
pure-Python fallback counts levels as it composes. Messages name files relative to the
root, never the hub's own directories.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from engine.lru import SizedLru
from engine.render import metadata
from engine.render.budget import RenderBudget
from engine.render.errors import RenderError, SecurityError

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_RESOLVED = 100_000  # real paths remembered by one reader
FILE, DIRECTORY, LINK, MISSING, OTHER = range(5)  # what a path is (RepoReader._kind)
MAX_EXPANDED_NODES = 1_000_000
MAX_OBJECTS = 20_000
MAX_DEPTH = 200
PARSE_MEMO_BYTES = 8 * 1024 * 1024  # the parse memo's bound (``ParseMemo``)

_CORE_RESOLVERS = (
    ("tag:yaml.org,2002:bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("tag:yaml.org,2002:null", r"^(?:~|null|Null|NULL|)$", "~nN"),
    ("tag:yaml.org,2002:int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "tag:yaml.org,2002:float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
    ("tag:yaml.org,2002:null", r"^$", ""),
)


class _DepthLimitedComposer(yaml.SafeLoader):
    """The pure-Python composer recurses once per level: refuse before Python's limit."""

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_DEPTH} levels",
                    self.peek_event().start_mark)  # type: ignore[no-untyped-call]
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _construct_bool11(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> bool:
    return str(loader.construct_scalar(node)).lower() in ("yes", "true", "on", "y")


def _construct_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith("0o"):
        return int(text[2:], 8)
    return int(text, 0) if text.startswith("0x") else int(text, 10)


def make_loaders(base: type[Any], *, python_composer: bool
                 ) -> tuple[type[yaml.SafeLoader], type[yaml.SafeLoader]]:
    """(YAML 1.2 core-schema loader, YAML 1.1 loader) on ``base`` (libyaml's or Python's;
    ``python_composer`` adds the depth limit the recursive Python composer needs).

    Core: ``on``/``yes`` stay strings, as kustomize reads manifests. 1.1: ``yes``, ``on``,
    ``y`` are booleans, as kustomize reads its own kustomization files. Dates stay strings.
    """
    if python_composer:
        base = type("DepthLimited", (_DepthLimitedComposer, base), {})
    core: type[yaml.SafeLoader] = type("CoreLoader", (base,), {"yaml_implicit_resolvers": {}})
    for tag, pattern, first in _CORE_RESOLVERS:
        core.add_implicit_resolver(tag, re.compile(pattern), list(first) or [""])
    core.add_constructor("tag:yaml.org,2002:int", _construct_int)
    yaml11: type[yaml.SafeLoader] = type("Yaml11Loader", (base,), {"yaml_implicit_resolvers": {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in base.yaml_implicit_resolvers.items()}})
    yaml11.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:y|Y|n|N)$"),
                                 list("yYnN"))
    yaml11.add_constructor("tag:yaml.org,2002:bool", _construct_bool11)
    return core, yaml11


_LIBYAML: bool = yaml.__with_libyaml__
_CoreLoader, Yaml11Loader = (make_loaders(yaml.CSafeLoader, python_composer=False) if _LIBYAML
                             else make_loaders(yaml.SafeLoader, python_composer=True))


@dataclass(frozen=True)
class Document:
    """One parsed YAML document and where it came from."""

    value: Any
    source: str
    line: int


_ParseKey = tuple[str, str, bool, tuple[str, ...]]  # text, source, yaml11, string_metadata


class RepoReader:
    """Reads files below one root directory, refusing anything that resolves outside it.

    Every access also checks the render's ``budget`` (deadline, cancel flag, file count).
    """

    def __init__(self, root: str | os.PathLike[str], *, max_file_bytes: int | None = None,
                 reads: set[str] | None = None, budget: RenderBudget | None = None,
                 kinds: dict[str, int] | None = None):
        # Real paths already found: a render resolves the same paths again and again, and
        # ``os.path.realpath`` costs a system call per component from ``/``. Below the root
        # a path is resolved component by component instead, the kind of each (file,
        # directory, link, missing) looked at once (``kinds``, which renders may share when
        # a path always holds one commit's files, as the hub's trees do); a link hands the
        # path to ``os.path.realpath``.
        self._resolved: dict[str, Path] = {}
        self._shown: dict[str, str] = {}  # ``display``'s answers: each path is shown often
        self._kinds: dict[str, int] = kinds if kinds is not None else {}
        self._root_text = ""
        self.root = self._real(os.fspath(root))
        self._root_text = str(self.root)
        self._root_prefix = self._root_text.rstrip(os.sep) + os.sep  # what lies inside
        self.max_file_bytes = MAX_FILE_BYTES if max_file_bytes is None else max_file_bytes
        # Paths (relative to the root) of every file read and directory listed, if asked:
        # the hub re-renders an app only when a commit changes one of them.
        self.reads = reads
        self._recordings: list[set[str]] = []  # open ``recording`` blocks
        self.budget = budget if budget is not None else RenderBudget()
        self.budget.start()
        if self._kind(self._root_text) != DIRECTORY:
            raise RenderError("the repository root is not a directory")

    def resolve(self, path: str | os.PathLike[str]) -> Path:
        """The real path of ``path``; a SecurityError if it lies outside the root."""
        if self.budget.expired():
            self.budget.check(self.display(path))
        real = self._real(os.fspath(path))
        found = str(real)
        if found != self._root_text and not found.startswith(self._root_prefix):
            raise SecurityError(
                f"{self.display(path)}: refused, resolves outside the repository root")
        return real

    def _real(self, text: str) -> Path:
        """The real path of ``text``, remembered (the check against the root is not)."""
        real = self._resolved.get(text)
        if real is None:
            real = self._below_root(text) or Path(os.path.realpath(text))
            if len(self._resolved) < MAX_RESOLVED:
                self._resolved[text] = real
        return real

    def _below_root(self, text: str) -> Path | None:
        """What ``os.path.realpath`` says of a path starting at the (real) root when no
        component after the root is a symbolic link; None otherwise, or when it does not
        start at the root. A missing component counts as no link, as there. Before the
        root is known, the root itself is resolved so from ``/`` (an absolute path whose
        components' kinds renders of other trees may have looked at already)."""
        root = self._root_text
        if not root:
            if not os.path.isabs(text):
                return None
            root = os.sep
        elif not (text == root or text.startswith(self._root_prefix)):
            return None
        current = root
        for name in text[len(root):].split(os.sep):
            if name in ("", "."):
                continue
            if name == "..":  # the parent of a real directory is real
                current = os.path.dirname(current)
                continue
            current = os.path.join(current, name)
            if self._kind(current) == LINK:
                return None
        return Path(current)

    def _kind(self, path: str) -> int:
        """What ``path`` is, as ``os.lstat`` says: FILE, DIRECTORY, LINK, MISSING or OTHER."""
        kind = self._kinds.get(path)
        if kind is None:
            try:
                mode = os.lstat(path).st_mode
            except OSError:
                kind = MISSING
            else:
                kind = (LINK if stat.S_ISLNK(mode) else DIRECTORY if stat.S_ISDIR(mode)
                        else FILE if stat.S_ISREG(mode) else OTHER)  # fmt: skip
            if len(self._kinds) < MAX_RESOLVED:
                self._kinds[path] = kind
        return kind

    def display(self, path: str | os.PathLike[str]) -> str:
        """``path`` relative to the root, for messages (``..`` when it lies outside).

        Never the absolute path: the root is one of the hub's own directories.
        """
        text = os.fspath(path)
        shown = self._shown.get(text)
        if shown is None:
            shown = os.path.relpath(os.path.normpath(os.path.join(self.root, text)), self.root)
            if len(self._shown) < MAX_RESOLVED:
                self._shown[text] = shown
        return shown

    def is_dir(self, path: Path) -> bool:
        """Whether ``path`` (inside the root) is a directory."""
        return self._kind(str(self.resolve(path))) == DIRECTORY

    def is_file(self, path: Path) -> bool:
        """Whether ``path`` (inside the root) is a regular file."""
        return self._kind(str(self.resolve(path))) == FILE

    def is_real_file(self, real: Path) -> bool:
        """Whether ``real``, a path ``resolve`` returned, is a regular file."""
        return self._kind(str(real)) == FILE

    def list_dir(self, path: Path) -> list[Path]:
        """The entries of a directory inside the root, sorted by name."""
        real = self.resolve(path)
        self._record(real)
        try:
            names = os.listdir(real)
        except OSError as err:
            raise RenderError(f"{self.display(path)}: cannot list: {err.strerror}") from err
        return sorted(real / name for name in names)

    def read_bytes(self, path: Path) -> bytes:
        """The content of a file inside the root, at most ``max_file_bytes`` long."""
        real = self.resolve(path)
        self.budget.read_file(lambda: self.display(path))
        if not self.is_real_file(real):
            raise RenderError(f"{self.display(path)}: no such file")
        try:
            with real.open("rb") as file:
                data = file.read(self.max_file_bytes + 1)
        except OSError as err:
            raise RenderError(f"{self.display(path)}: cannot read: {err.strerror}") from err
        if len(data) > self.max_file_bytes:
            raise SecurityError(
                f"{self.display(real)}: file larger than the limit of {self.max_file_bytes} bytes"
            )
        self._record(real)
        return data

    def depends_on(self, path: Path) -> None:
        """Record a directory whose whole content the render depends on (in ``reads``)."""
        self._record(self.resolve(path))

    @contextlib.contextmanager
    def recording(self) -> Iterator[set[str]]:
        """A set receiving the root-relative paths read while the block runs (as ``reads``)."""
        found: set[str] = set()
        self._recordings.append(found)
        try:
            yield found
        finally:
            self._recordings.pop()

    def record_all(self, paths: Iterable[str]) -> None:
        """Record paths another render read for what this one reuses."""
        paths = list(paths)
        for found in self._targets():
            found.update(paths)

    def _record(self, real: Path) -> None:
        targets = self._targets()
        if targets:
            relative = str(real.relative_to(self.root))
            for found in targets:
                found.add("" if relative == "." else relative)

    def _targets(self) -> list[set[str]]:
        return self._recordings if self.reads is None else [self.reads, *self._recordings]

    def read_text(self, path: Path) -> str:
        """The UTF-8 content of a file inside the root."""
        data = self.read_bytes(path)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:  # the message names the file and the line
            return decode_utf8(data, self.display(path))


def decode_utf8(data: bytes, source: str) -> str:
    """``data`` as UTF-8 text; a RenderError naming ``source`` and the offset otherwise."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise RenderError(f"{source}:{line}: not UTF-8 text (byte {err.start})") from err


def parse_documents(text: str | bytes, source: str, *, yaml11: bool = False,
                    string_metadata: tuple[str, ...] = (), memo: bool = True) -> list[Document]:
    """Every non-empty YAML document of ``text``; errors name ``source`` and the line.

    Bytes must be UTF-8. Every failure is a RenderError (SecurityError for alias bombs and
    deep nesting), whatever the input. Manifests (not ``yaml11``) refuse duplicate mapping
    keys, as kustomize's reader does (its kustomization reader keeps the last). The values
    of each ``metadata`` map named in ``string_metadata`` are read as their original text.
    A text parsed before (``PARSED``) gives fresh copies of what it gave then; ``memo``
    False (a binary's output, rendered once and cached as a render) is not kept there.
    """
    if isinstance(text, bytes):
        text = decode_utf8(text, source)
    if not memo:
        return _parse(text, source, yaml11=yaml11, string_metadata=string_metadata)
    key = (text, source, yaml11, string_metadata)
    found = PARSED.get(key)
    if found is not None:
        return [Document(value, source, line) for value, line in marshal.loads(found)]
    documents = _parse(text, source, yaml11=yaml11, string_metadata=string_metadata)
    with contextlib.suppress(ValueError):  # a value marshal cannot hold: parsed each time
        PARSED.put(key, marshal.dumps([(d.value, d.line) for d in documents]))
    return documents


def _parse(text: str, source: str, *, yaml11: bool,
           string_metadata: tuple[str, ...]) -> list[Document]:  # fmt: skip
    """The documents of ``text`` (``parse_documents``)."""
    documents: list[Document] = []
    loader = None
    try:
        loader = Yaml11Loader(text) if yaml11 else _CoreLoader(text)
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            _check_expansion(node, source, unique_keys=not yaml11)
            metadata.string_values(node, string_metadata)
            value = loader.construct_document(node)
            if value is not None:
                documents.append(Document(_unshare(value), source, node.start_mark.line + 1))
    except yaml.MarkedYAMLError as err:
        line = err.problem_mark.line + 1 if err.problem_mark else 0
        raise RenderError(f"{source}:{line}: invalid YAML: {err.problem}") from err
    except yaml.YAMLError as err:
        raise RenderError(f"{source}: invalid YAML: {err}") from err
    except UnicodeEncodeError as err:  # lone surrogates in a str cannot reach libyaml
        raise RenderError(f"{source}: not UTF-8 text ({err.reason} at character {err.start})"
                          ) from err
    except RecursionError as err:  # a last resort: nesting is bounded before this
        raise SecurityError(f"{source}: YAML nested too deeply") from err
    finally:
        if loader is not None:
            loader.dispose()
    return documents


def _check_expansion(root: yaml.Node, source: str, *, unique_keys: bool = False) -> None:
    """Refuse a document whose aliases would expand beyond the node budget (and, with
    ``unique_keys``, one that repeats a key in a mapping)."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, depth: int) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if depth >= MAX_DEPTH:  # the root is depth 0: this is level MAX_DEPTH + 1
            raise SecurityError(f"{source}:{node.start_mark.line + 1}: YAML nested deeper "
                                f"than {MAX_DEPTH} levels")
        total = 1
        if isinstance(node, yaml.SequenceNode):
            total += sum(size(item, depth + 1) for item in node.value)
        elif isinstance(node, yaml.MappingNode):
            if unique_keys:
                _check_unique_keys(node, source)
            total += sum(size(k, depth + 1) + size(v, depth + 1) for k, v in node.value)
        if total > MAX_EXPANDED_NODES:
            raise SecurityError(
                f"{source}:{root.start_mark.line + 1}: YAML document expands to more than "
                f"{MAX_EXPANDED_NODES} nodes (alias bomb?)"
            )
        sizes[id(node)] = total
        return total

    size(root, 0)


def _check_unique_keys(node: yaml.MappingNode, source: str) -> None:
    """A RenderError when two scalar keys of a mapping have the same text (as yaml.v3)."""
    first: dict[str, int] = {}
    for key, _value in node.value:
        if isinstance(key, yaml.ScalarNode):
            line = key.start_mark.line + 1
            if key.value in first:
                raise RenderError(f'{source}:{line}: invalid YAML: mapping key "{key.value}" '
                                  f"already defined at line {first[key.value]}")
            first[key.value] = line


def _unshare(value: Any) -> Any:
    """A deep copy in which no two places share a container (aliases become copies)."""
    if isinstance(value, dict):
        return {_key(k): _unshare(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unshare(v) for v in value]
    return value


class ParseMemo:
    """Parsed texts, marshalled (a copy is one ``marshal.loads``), least recently used
    forgotten first once their bytes (text and marshalled value) pass ``max_bytes``; a text
    costing more than ``max_bytes // 8`` (a large file, or aliases expanding a short one)
    is never kept. A commit that changes a shared base re-renders every app, but the apps'
    own files are the same text as before: parsed once, copied after. Thread-safe: renders
    run in a pool."""

    def __init__(self, max_bytes: int) -> None:
        self._entries: SizedLru[_ParseKey, bytes] = SizedLru(
            max_bytes=max_bytes, max_value_bytes=max_bytes // 8)

    def get(self, key: _ParseKey) -> bytes | None:
        """What ``key`` parsed to, marshalled; or None."""
        return self._entries.get(key)

    def put(self, key: _ParseKey, parsed: bytes) -> None:
        """Keep ``parsed`` for ``key`` unless it is too large; forget the oldest over the
        bound."""
        self._entries.put(key, parsed, _cost(key, parsed))

    @property
    def bytes(self) -> int:
        """The bytes kept now (texts and marshalled values)."""
        return self._entries.bytes


def _cost(key: _ParseKey, parsed: bytes) -> int:
    return len(key[0]) + len(parsed)


def _key(key: Any) -> Any:
    if isinstance(key, bool) or key is None:
        return "null" if key is None else str(key).lower()
    return key if isinstance(key, str) else str(key)


PARSED = ParseMemo(PARSE_MEMO_BYTES)


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


def objects_of_output(output: bytes, source: str, where: str,
                      budget: RenderBudget) -> list[dict[str, Any]]:  # fmt: skip
    """The objects a binary printed (``source`` names it in errors), parsed with the guards
    of every render and counted against the render's limits."""
    objects: list[dict[str, Any]] = []
    for doc in parse_documents(output, source, memo=False):
        objects.extend(iter_objects(doc.value, source))
        check_object_count(len(objects), where)
    budget.add_objects(len(objects), where)
    return objects
