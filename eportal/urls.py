from __future__ import annotations

from typing import Any

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.http import HttpRequest
from django.urls import include, path, re_path
from django.views.i18n import set_language

from fhirapi import views as fhir_views
from identification import views as identification_views
from ops import views as ops_views

from . import views
from .templatetags.product_name import keep_product_name

# Staff log in through allauth. Patched on the site object (not the class), on purpose.
admin.site.login = secure_admin_login(admin.site.login)  # type: ignore[method-assign]
admin.site.site_header = "ePortal"
_get_app_list = admin.site.get_app_list


def _app_list_keeping_eportal_lowercase(
    request: HttpRequest, app_label: str | None = None
) -> list[Any]:
    """The admin capitalises model names; "ePortal tjenester" must not read "EPortal"."""
    apps = _get_app_list(request, app_label)
    for app in apps:
        for model in app["models"]:
            model["name"] = keep_product_name(model["name"])
    return apps


# Patched on the site object, as login is above.
admin.site.get_app_list = _app_list_keeping_eportal_lowercase  # type: ignore[method-assign]

urlpatterns = [
    path("", views.home, name="home"),
    re_path(r"^[Ll][Oo][Gg][Ii][Nn]\.[Aa][Ss][Pp][Xx]$", identification_views.entry, name="entry"),
    path("c/<str:ep_ident>/", include("booking.urls")),
    path("c/<str:ep_ident>/", include("econsult.urls")),
    path("c/", include("identification.urls")),
    path("oidc/callback/", identification_views.bankid_callback, name="oidc_callback"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("sms/", include("sms.urls")),
    path("fhir/", include("fhirapi.urls")),
    path(".well-known/smart-configuration", fhir_views.smart, name="smart_configuration"),
    path("i18n/setlang/", set_language, name="set_language"),
    # Browsers ask for /favicon.ico on pages that name no icon (the admin's): never a 404.
    path("favicon.ico", views.favicon, name="favicon"),
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
]

handler404 = "eportal.views.page_not_found"
