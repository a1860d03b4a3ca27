"""ApplicationSet templates: Argo CD's two template languages over generator parameters (pure).

- fasttemplate (the default): ``{{name}}`` or ``{{ metadata.labels.env }}`` is replaced by
  the flat parameter of that name; an unknown one is left as it is, as in Argo CD.
- Go templates (``goTemplate: true``): a subset of Go's ``text/template`` that
  ApplicationSets use: ``{{ .name }}``, ``{{ .metadata.labels.env }}``, literals, pipelines
  and the functions ``index``, ``default``, ``lower``, ``upper``, ``trim``, ``quote``,
  ``replace``, ``trunc``, ``normalize`` (``{{-`` and ``-}}`` trim spaces as in Go). A missing
  key gives ``<no value>`` as in Go, or an error with ``missingkey=error``. Control
  structures (``if``, ``range``, ``with``, ``define``) and other functions are refused with
  an error naming them, never rendered wrong.

Every string of the template, keys and values, is rendered; the result is bounded in size.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from engine.errors import ConfigError

MAX_OUTPUT = 64 * 1024  # characters of one rendered string
_FAST = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
_ACTION = re.compile(r"(\s*)\{\{(-?)\s*(.*?)\s*(-?)\}\}(\s*)", re.S)
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|`[^`]*`|[^\s"`]+')
_CONTROL = {"if", "else", "end", "range", "with", "define", "template", "block", "break",
            "continue"}  # fmt: skip
NO_VALUE = "<no value>"


def render(value: Any, params: Mapping[str, Any], *, go: bool, missing_error: bool = False,
           where: str = "template") -> Any:  # fmt: skip
    """``value`` (a template document) with every string rendered over ``params``."""
    one: Callable[[str], str]
    if go:
        one = lambda text: _go(text, params, missing_error, where)  # noqa: E731
    else:
        flat = flatten(params)
        one = lambda text: _fast(text, flat)  # noqa: E731
    return _walk(value, one)


def flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested parameters as fasttemplate sees them: ``metadata.labels.env`` → value."""
    flat: dict[str, str] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = _text(value)
    return flat


def _walk(value: Any, one: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return one(value)
    if isinstance(value, list):
        return [_walk(item, one) for item in value]
    if isinstance(value, dict):
        return {_walk(key, one) if isinstance(key, str) else key: _walk(item, one)
                for key, item in value.items()}  # fmt: skip
    return value


def _fast(text: str, flat: Mapping[str, str]) -> str:
    found = _FAST.sub(lambda m: flat.get(m.group(1), m.group(0)), text)
    return _bounded(found)


def _go(text: str, params: Mapping[str, Any], missing_error: bool, where: str) -> str:
    if "{{" not in text:
        return text
    out: list[str] = []
    position = 0
    for match in _ACTION.finditer(text):
        before, left, action, right, after = match.groups()
        out.append(text[position:match.start()])
        out.append("" if left else before)
        out.append(_text(_pipeline(action, params, missing_error, where)))
        out.append("" if right else after)
        position = match.end()
        _bounded("".join(out))
    out.append(text[position:])
    return _bounded("".join(out))


def _pipeline(action: str, params: Mapping[str, Any], missing_error: bool, where: str) -> Any:
    if action.startswith("/*"):
        return ""
    commands = _split_pipes(action)
    value: Any = None
    for index, command in enumerate(commands):
        tokens = _TOKEN.findall(command)
        if not tokens:
            raise ConfigError(f"{where}: empty command in {{{{ {action} }}}}")
        args = [_operand(t, params, missing_error, where) for t in tokens[1:]]
        if index > 0:
            args.append(value)
        head = tokens[0]
        if head in _CONTROL:
            raise ConfigError(f"{where}: {{{{ {head} }}}} is not supported in fleetsync's Go "
                              "templates (field access, literals and pipelines of functions)")
        if _is_operand(head):
            if args:
                raise ConfigError(f"{where}: {head} is not a function")
            value = _operand(head, params, missing_error, where)
        else:
            value = _call(head, args, where)
    return value


def _split_pipes(action: str) -> list[str]:
    parts, current, quote = [], [], ""
    for char in action:
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
        elif char in "\"`":
            quote = char
            current.append(char)
        elif char == "|":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    return parts


def _is_operand(token: str) -> bool:
    return token.startswith((".", '"', "`", "$")) or token[0].isdigit() or token in (
        "true", "false", "nil")


def _operand(token: str, params: Mapping[str, Any], missing_error: bool, where: str) -> Any:
    if token.startswith('"'):
        return bytes(token[1:-1], "utf-8").decode("unicode_escape")
    if token.startswith("`"):
        return token[1:-1]
    if token in ("true", "false"):
        return token == "true"
    if token == "nil":
        return None
    if token[0].isdigit() or (token[0] == "-" and token[1:].isdigit()):
        return int(token) if token.lstrip("-").isdigit() else float(token)
    if token == ".":
        return params
    if token.startswith("$"):
        raise ConfigError(f"{where}: variables ({token}) are not supported")
    if token.startswith("."):
        value: Any = params
        for part in token[1:].split("."):
            if isinstance(value, Mapping) and part in value:
                value = value[part]
            elif missing_error:
                raise ConfigError(f"{where}: map has no entry for key {part!r} ({token})")
            else:
                return NO_VALUE
        return value
    raise ConfigError(f"{where}: {token!r} is not a value")


def _call(name: str, args: list[Any], where: str) -> Any:
    function = _FUNCTIONS.get(name)
    if function is None:
        raise ConfigError(f"{where}: function {name!r} is not supported in fleetsync's Go "
                          f"templates (supported: {', '.join(sorted(_FUNCTIONS))})")
    try:
        return function(*args)
    except (TypeError, ValueError, KeyError, IndexError) as err:
        raise ConfigError(f"{where}: {name}: {err}") from None


def _index(collection: Any, *keys: Any) -> Any:
    value = collection
    for key in keys:
        value = value[key] if isinstance(value, Mapping | list) else None
    return value


def _default(fallback: Any, value: Any = None) -> Any:
    return fallback if value in (None, "", 0, False, NO_VALUE) or value == {} else value


def normalize(value: Any) -> str:
    """A name made DNS-safe, as Argo CD's ``nameNormalized``."""
    return re.sub(r"[^a-z0-9.-]", "-", _text(value).lower()).strip("-.")[:253]


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "index": _index,
    "default": _default,
    "lower": lambda s: _text(s).lower(),
    "upper": lambda s: _text(s).upper(),
    "trim": lambda s: _text(s).strip(),
    "quote": lambda s: '"' + _text(s).replace("\\", "\\\\").replace('"', '\\"') + '"',
    "replace": lambda old, new, s: _text(s).replace(_text(old), _text(new)),
    "trunc": lambda n, s: _text(s)[:n] if n >= 0 else _text(s)[n:],
    "normalize": normalize,
}


def _text(value: Any) -> str:
    if value is None:
        return NO_VALUE
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else str(value)


def _bounded(text: str) -> str:
    if len(text) > MAX_OUTPUT:
        raise ConfigError(f"a rendered template value is longer than {MAX_OUTPUT} characters")
    return text
