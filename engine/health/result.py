"""The outcome of one health assessment, and short constructors for the rules (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.model import HealthStatus


@dataclass(frozen=True)
class HealthResult:
    """How healthy one object is, and a message that tells a user what to look at."""

    status: HealthStatus
    message: str = ""


def healthy(message: str = "") -> HealthResult:
    """A Healthy result."""
    return HealthResult(HealthStatus.HEALTHY, message)


def progressing(message: str) -> HealthResult:
    """A Progressing result: not there yet, but still on its way."""
    return HealthResult(HealthStatus.PROGRESSING, message)


def degraded(message: str) -> HealthResult:
    """A Degraded result: failed, or will not get healthy without a change."""
    return HealthResult(HealthStatus.DEGRADED, message)


def suspended(message: str) -> HealthResult:
    """A Suspended result: paused on purpose."""
    return HealthResult(HealthStatus.SUSPENDED, message)


def unknown(message: str) -> HealthResult:
    """An Unknown result: the status could not be read."""
    return HealthResult(HealthStatus.UNKNOWN, message)
