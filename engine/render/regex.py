"""Regular expressions written by a repository's author (patch targets, image names).

kustomize compiles them with Go's ``regexp``, which is RE2: matching takes time linear
in the input, and backreferences or lookarounds are syntax errors. Python's ``re``
backtracks, so a pattern like ``(a+)+$`` against a long name would hold a render thread
in C, where no deadline check runs. We use RE2 itself (``google-re2``): same syntax,
same linear time, same refusals.
"""

from __future__ import annotations

from collections.abc import Callable

import re2  # type: ignore[import-untyped]  # google-re2 ships no type stubs

from engine.render.errors import RenderError

MAX_PATTERN = 4096  # characters; RE2 also bounds the memory of a compiled program
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # errors become RenderErrors, not lines on the hub's stderr


def matcher(pattern: str, where: str) -> Callable[[str], bool]:
    """A test of whether ``pattern`` matches a value from its start (``re.match``)."""
    if len(pattern) > MAX_PATTERN:
        raise RenderError(f"{where}: pattern longer than {MAX_PATTERN} characters")
    try:
        compiled = re2.compile(pattern, _OPTIONS)
    except re2.error as err:
        reason = err.args[0] if err.args else "invalid"
        text = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        raise RenderError(f"{where}: invalid pattern {pattern!r}: {text}") from err
    return lambda value: compiled.match(value) is not None
