"""Deployment checks (``manage.py check --deploy``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def check_synthetic_identity_numbers(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Synthetic test identity numbers (month + 80) are for the demo and the tests. Left on in
    production, the login form, the admin's patient form and the import accept them as if
    they were real people's numbers. DEBUG on is taken for a development machine."""
    if settings.EPORTAL_ALLOW_SYNTHETIC_IDS and not settings.DEBUG:
        return [
            Warning(
                "EPORTAL_ALLOW_SYNTHETIC_IDS is on with DEBUG off: synthetic test identity "
                "numbers (month + 80) are accepted as if they were real patients' numbers.",
                hint="Unset EPORTAL_ALLOW_SYNTHETIC_IDS (or set it to 0) in production; it is "
                "meant for the demo and the tests.",
                id="clinics.W001",
            )
        ]
    return []
