"""Keeping secrets out of text: URL user information and known secret strings (pure).

Every URL that enters a message, a name, a log line or a stored record goes through
``redact_url``; free text that may quote a secret goes through ``redact``. The hub also
installs ``RedactingFilter`` on its log handlers as a last line of defence.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import quote

REDACTED = "***"
# scheme://user[:password]@ (a token is often written as the user name)
_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")


def redact_url(address: str) -> str:
    """A URL fit for logs and messages: user information replaced by ``***``."""
    return _URL_USERINFO.sub(lambda m: f"{m['scheme']}{REDACTED}@", address)


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove every given secret (also URL-quoted) and any ``scheme://user:pass@`` from text."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
            text = text.replace(quote(secret, safe=""), REDACTED)
    return redact_url(text)


class RedactingFilter(logging.Filter):
    """A log filter that redacts URL credentials and the given secrets from every record."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def add(self, secrets: Iterable[str]) -> None:
        """Also redact these secrets from now on."""
        self.secrets = tuple({*self.secrets, *(s for s in secrets if s)})

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, self.secrets)
        if clean != message or record.exc_info:
            if record.exc_info:
                clean += "\n" + redact(logging.Formatter().formatException(record.exc_info),
                                       self.secrets)  # fmt: skip
            record.msg, record.args, record.exc_info, record.exc_text = clean, None, None, None
        return True
