from __future__ import annotations

from django.contrib.admin import apps as admin_apps


class EPortalAdminConfig(admin_apps.AdminConfig):
    """``django.contrib.admin`` with :class:`eportal.admin_site.EPortalAdminSite` as
    ``admin.site``, where every ModelAdmin registers, ours and third-party ones alike."""

    # Not the "eportal" app's own config, which Django would take it for, being the only
    # AppConfig in eportal/apps.py (the module import keeps Django's AdminConfig out of it).
    default = False
    default_site = "eportal.admin_site.EPortalAdminSite"
