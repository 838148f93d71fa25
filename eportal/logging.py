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
        return True
