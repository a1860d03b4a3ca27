"""The binaries ``fleetsync local build`` makes, as tests that need one look for them."""

from __future__ import annotations


def built(name: str) -> str | None:
    """The path of binary ``name`` in the built set, or None when it is not built yet."""
    try:
        from engine.local.toolchain import find_binaries

        binary = find_binaries() / name
    except Exception:  # not built yet
        return None
    return str(binary) if binary.is_file() else None
