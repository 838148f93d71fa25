"""SMS backends, chosen by the ``SMS_BACKEND`` setting as Django chooses an ``EMAIL_BACKEND``.

=====================================  ==========================================
``sms.backends.console.ConsoleBackend``  prints to stdout (development)
``sms.backends.file.FileBackend``        one file per SMS in ``SMS_FILE_PATH``
``sms.backends.locmem.LocMemBackend``    appends to ``sms.outbox`` (tests)
``sms.backends.twilio.TwilioBackend``    Twilio's Messages API
=====================================  ==========================================
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from .base import BaseSmsBackend


def get_backend(backend: str | None = None, **kwargs: Any) -> BaseSmsBackend:
    """An instance of the configured backend; the setting is read at call time."""
    klass = import_string(backend or settings.SMS_BACKEND)
    return klass(**kwargs)
