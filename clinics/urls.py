from __future__ import annotations

from django.urls import path

from . import views

app_name = "clinics"

urlpatterns = [
    path("<str:ep_ident>/", views.start, name="start"),
]
