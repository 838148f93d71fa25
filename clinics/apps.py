from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ClinicsConfig(AppConfig):
    name = "clinics"
    verbose_name = _("Clinic")

    def ready(self) -> None:
        from allauth.mfa.signals import authenticator_added
        from django.contrib.auth.signals import user_logged_in

        from . import checks  # noqa: F401  (registers the checks)
        from .adapters import password_login_counts_for_first_setup, record_new_authenticator

        authenticator_added.connect(record_new_authenticator, dispatch_uid="eportal_mfa_added")
        user_logged_in.connect(
            password_login_counts_for_first_setup, dispatch_uid="eportal_first_mfa_setup"
        )
