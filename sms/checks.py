"""Deployment checks (``manage.py check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register

_NOT_FOR_PRODUCTION = {
    "sms.backends.console.ConsoleBackend",
    "sms.backends.file.FileBackend",
    "sms.backends.locmem.LocMemBackend",
}


@register(Tags.security, deploy=True)
def check_sms_backend(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.SMS_BACKEND in _NOT_FOR_PRODUCTION:
        return [
            Warning(
                f"SMS_BACKEND is {settings.SMS_BACKEND}: no SMS reaches a phone, and login "
                "codes are written to the console or to files.",
                hint="Set SMS_BACKEND=sms.backends.twilio.TwilioBackend in production.",
                id="sms.W001",
            )
        ]
    return []
