"""Logging helpers. Identity numbers are health-adjacent personal data: never logged."""

from __future__ import annotations

import logging
import re

# Eleven digits standing alone, optionally written as "DDMMYY NNNNN".
_IDENTITY_NUMBER = re.compile(r"(?<!\d)(\d{6})[ -]?(\d{5})(?!\d)")


def redact(text: str) -> str:
    return _IDENTITY_NUMBER.sub("***********", text)


class RedactIdentityNumbers(logging.Filter):
    """Replace anything shaped like a national identity number in a log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Exception texts (e.g. a database's "Key (...)=(...) already exists") are
            # formatted into the line too: format them now, redacted, and drop the original.
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(text)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
