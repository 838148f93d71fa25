from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FhirApiConfig(AppConfig):
    name = "fhirapi"
    verbose_name = _("FHIR API")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from oauth2_provider.signals import app_authorized

        from .views import token_audit

        app_authorized.connect(token_audit, dispatch_uid="fhirapi.token_audit")
