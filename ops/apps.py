from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    """Operations: the daily health cycle, heartbeats, incidents and the monitoring page.

    Nothing of the clinic domain lives here and no clinic app imports it; it calls the
    other apps' services through :mod:`ops.wiring` alone.
    """

    name = "ops"
    verbose_name = _("Operations")
