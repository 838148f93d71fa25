from __future__ import annotations

from django.apps import AppConfig


class DelegationConfig(AppConfig):
    name = "delegation"
