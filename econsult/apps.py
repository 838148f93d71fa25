from __future__ import annotations

from django.apps import AppConfig


class EconsultConfig(AppConfig):
    name = "econsult"
