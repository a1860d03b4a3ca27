"""The errors of the renderer, below ``RenderError`` (defined in ``engine.errors``)."""

from __future__ import annotations

from engine.errors import (
    RenderCancelledError,
    RenderError,
    RenderLimitError,
    RenderTimeoutError,
    SecurityError,
    UnsupportedFieldError,
)

__all__ = ["RenderCancelledError", "RenderError", "RenderLimitError", "RenderTimeoutError",
           "SecurityError", "UnsupportedFieldError"]
