"""Redaction of URL credentials and known secrets, in text and in every log record."""

from __future__ import annotations

import logging

import pytest

from engine.redaction import LogRedaction, redact, redact_url

TOKEN = "ghp_plantedToken0123456789"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (f"https://x-access-token:{TOKEN}@git.example/a.git", "https://***@git.example/a.git"),
        (f"https://{TOKEN}@git.example/a.git", "https://***@git.example/a.git"),
        ("ssh://git@git.example/a.git", "ssh://***@git.example/a.git"),
        ("https://git.example/a.git", "https://git.example/a.git"),
    ],
)
def test_redact_url_removes_user_information(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_removes_secrets_also_url_quoted() -> None:
    text = f"failed: {TOKEN} and {TOKEN.replace('_', '%5F')} and a/b?t={'p@ss/w'}"
    cleaned = redact(text.replace("p@ss/w", "p%40ss%2Fw"), ["p@ss/w", TOKEN])
    assert TOKEN not in cleaned and "p%40ss%2Fw" not in cleaned


def test_log_redaction_covers_messages_args_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    redaction = LogRedaction([TOKEN])
    redaction.install()
    try:
        log = logging.getLogger("tests.redaction")
        with caplog.at_level(logging.INFO):
            log.info("fetching %s", f"https://u:{TOKEN}@git.example/r")
            try:
                raise ValueError(f"bad token {TOKEN}")
            except ValueError:
                log.exception("failed")
    finally:
        redaction.uninstall()
    text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert TOKEN not in text
    assert "https://***@git.example/r" in text and "ValueError: bad token ***" in text


def test_log_redaction_uninstall_restores_the_factory() -> None:
    before = logging.getLogRecordFactory()
    redaction = LogRedaction(["s3cret"])
    redaction.install()
    redaction.uninstall()
    assert logging.getLogRecordFactory() is before
