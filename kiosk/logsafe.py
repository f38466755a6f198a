"""Keep personal data out of application logs (UU PDP; see the field notes).

Logs never carry a NIK, a citizen's name or a scanned QR payload. Code that
needs to correlate log lines about one booking logs :func:`ref` of the id (a
keyed hash that changes with every process start, so it cannot be looked up
in a table of ids). As a second line of defence, :class:`RedactingFilter`
on every log handler blanks 16-digit numbers (NIK) and signed booking codes
that slipped into a message or an exception.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re

_KEY = os.urandom(16)
NIK = re.compile(r"(?<!\d)\d{16}(?!\d)")
SIGNED_CODE = re.compile(r"KB:[A-Z2-7=]{8,}")


def ref(value: str) -> str:
    """A short, per-process pseudonym for an identifier: ``ref:1a2b3c4d``."""
    digest = hashlib.blake2s(value.encode("utf-8", "surrogatepass"), key=_KEY, digest_size=4)
    return f"ref:{digest.hexdigest()}"


def redact(text: str) -> str:
    return SIGNED_CODE.sub("KB:[code]", NIK.sub("[NIK]", text))


class RedactingFilter(logging.Filter):
    """Rewrites each record's final message (and traceback text) without NIKs or codes."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            if redact(text) != text:
                record.exc_info = None
                record.exc_text = redact(text)
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Add the filter to every handler of ``logger`` (default: the root logger)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
