"""Errors of the renderer: all are ``engine.errors.RenderError``."""

from __future__ import annotations

from engine.errors import RenderError


class UnsupportedFieldError(RenderError):
    """A kustomization uses a field the native renderer does not implement."""


class SecurityError(RenderError):
    """A render tried to read outside its allowed root, or exceeded a size limit."""


__all__ = ["RenderError", "SecurityError", "UnsupportedFieldError"]
