from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DelegationConfig(AppConfig):
    name = "delegation"
    verbose_name = _("Service matrix")

    def ready(self) -> None:
        from clinics.exchange import register_section

        from .exchange import section

        register_section(section)
