"""Keeping secrets out of text: URL user information and known secret strings (pure).

Every URL that enters a message, a name, a log line or a stored record goes through
``redact_url``; free text that may quote a secret goes through ``redact``. The hub also
installs ``LogRedaction`` for every log record as a last line of defence.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

REDACTED = "***"
# scheme://user[:password]@ (a token is often written as the user name)
_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@\s]+@")


def redact_url(address: str) -> str:
    """A URL fit for logs and messages: user information replaced by ``***``."""
    if "@" not in address:  # no user information without one (most messages, at each sync)
        return address
    return _URL_USERINFO.sub(lambda m: f"{m['scheme']}{REDACTED}@", address)


def without_userinfo(url: str) -> str:
    """``url`` without its ``user:password@`` part; unparseable input is returned as it is."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove every given secret (also URL-quoted) and any ``scheme://user:pass@`` from text."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, REDACTED)
            text = text.replace(quote(secret, safe=""), REDACTED)
    return redact_url(text)


class LogRedaction:
    """Redacts URL credentials and known secrets from every log record as it is created.

    A record factory rather than a handler filter: it covers every logger and every handler,
    including those added later. ``install`` wraps the current factory; ``uninstall`` puts
    it back (hubs in one process, as in tests, nest).
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: tuple[str, ...] = ()
        self.add(secrets)
        self._previous: Callable[..., logging.LogRecord] | None = None

    def add(self, secrets: Iterable[str]) -> None:
        """Also redact these secrets from now on."""
        self.secrets = tuple({*self.secrets, *(s for s in secrets if s)})

    def install(self) -> None:
        """Start redacting every log record of this process."""
        self._previous = logging.getLogRecordFactory()
        logging.setLogRecordFactory(self._record)

    def uninstall(self) -> None:
        """Stop redacting (restores the factory found at install)."""
        if self._previous is not None:
            logging.setLogRecordFactory(self._previous)
            self._previous = None

    def _record(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = (self._previous or logging.LogRecord)(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: let logging report it as usual
            return record
        clean = redact(message, self.secrets)
        if record.exc_info and record.exc_info[1] is not None:
            trace = logging.Formatter().formatException(record.exc_info)
            clean += "\n" + redact(trace, self.secrets)
            record.exc_info, record.exc_text = None, None
        record.msg, record.args = clean, None
        return record
