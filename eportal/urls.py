from __future__ import annotations

from allauth.account.decorators import secure_admin_login
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.i18n import set_language

from identification import views as identification_views

from . import views

admin.site.login = secure_admin_login(admin.site.login)  # staff log in through allauth
admin.site.site_header = "ePortal"
_get_app_list = admin.site.get_app_list


def _app_list_keeping_eportal_lowercase(request, app_label=None):  # type: ignore[no-untyped-def]
    """The admin capitalises model names; "ePortal tjenester" must not read "EPortal"."""
    apps = _get_app_list(request, app_label)
    for app in apps:
        for model in app["models"]:
            if model["name"].startswith("EPortal"):
                model["name"] = "e" + model["name"][1:]
    return apps


admin.site.get_app_list = _app_list_keeping_eportal_lowercase

urlpatterns = [
    path("", views.home, name="home"),
    re_path(r"^[Ll][Oo][Gg][Ii][Nn]\.[Aa][Ss][Pp][Xx]$", identification_views.entry, name="entry"),
    path("c/<str:ep_ident>/", include("booking.urls")),
    path("c/", include("identification.urls")),
    path("oidc/callback/", identification_views.bankid_callback, name="oidc_callback"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("sms/", include("sms.urls")),
    path("i18n/setlang/", set_language, name="set_language"),
    path("healthz", views.healthz, name="healthz"),
]

handler404 = "eportal.views.page_not_found"
