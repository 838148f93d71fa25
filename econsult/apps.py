from __future__ import annotations

from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class EconsultConfig(AppConfig):
    name = "econsult"
    verbose_name = _("eConsultation")

    def ready(self) -> None:
        checks.register(check_files_not_served, checks.Tags.security)


def check_files_not_served(**kwargs: object) -> list[checks.CheckMessage]:
    """Attachments must never lie where the web server or whitenoise serves files."""
    from .selectors import files_root_is_served

    if files_root_is_served():
        return [
            checks.Error(
                "ECONSULT_FILES_ROOT lies inside a folder that is served as static or media "
                "files: eConsultation attachments would be downloadable without a login.",
                hint="Point ECONSULT_FILES_ROOT at a folder outside STATIC_ROOT, "
                "STATICFILES_DIRS and MEDIA_ROOT.",
                id="econsult.E001",
            )
        ]
    return []
