from __future__ import annotations

from django.urls import path

from clinics.converters import register_id_converter

from . import views

register_id_converter()

app_name = "identification"

urlpatterns = [
    path("<str:ep_ident>/", views.start, name="start"),
    path("<str:ep_ident>/login/", views.login, name="login"),
    path("<str:ep_ident>/login/code/", views.login_code, name="login_code"),
    path("<str:ep_ident>/login/code/new/", views.resend_code, name="resend_code"),
    path("<str:ep_ident>/password/", views.password_start, name="password_start"),
    path("<str:ep_ident>/password/new/", views.password_set, name="password_set"),
    path("<str:ep_ident>/bankid/", views.bankid_start, name="bankid_start"),
    path("<str:ep_ident>/logout/", views.logout, name="logout"),
    path("<str:ep_ident>/home/", views.home, name="home"),
    path("<str:ep_ident>/velg/", views.choose, name="choose"),
    path("<str:ep_ident>/innsyn/", views.access_log, name="access_log"),
    path("<str:ep_ident>/fullmakt/", views.attorneys, name="attorneys"),
    path("<str:ep_ident>/fullmakt/ny/", views.attorney_give, name="attorney_give"),
    path(
        "<str:ep_ident>/fullmakt/<id:attorney_id>/avslutt/",
        views.attorney_end,
        name="attorney_end",
    ),
]
