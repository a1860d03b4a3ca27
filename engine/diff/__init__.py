"""Diff: how a cluster's live objects differ from Git, and who changed them (pure).

``diff_object`` compares one object (desired, server-side-apply dry-run result, live) and
returns an ``ObjectDiff`` (``engine.model.diffs``): status, reason, differing paths, a
unified diff with Secret values masked, and for each drifted field the field manager that
owns it now. ``summarise`` gives
the app-level status; ``format_diff`` the text the CLI prints.
"""

from engine.diff.core import diff_object, summarise
from engine.diff.format import format_diff
from engine.diff.ignore import IgnoreRule, unsupported

__all__ = [
    "IgnoreRule",
    "diff_object",
    "format_diff",
    "summarise",
    "unsupported",
]
