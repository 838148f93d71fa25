from __future__ import annotations

from django.apps import AppConfig


class SmsConfig(AppConfig):
    name = "sms"
