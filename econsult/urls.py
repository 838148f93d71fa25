"""Patient pages under /c/<ep_ident>/ (mounted in eportal/urls.py)."""

from __future__ import annotations

from django.urls import path

from clinics.converters import register_id_converter

from . import views

register_id_converter()

app_name = "econsult"

urlpatterns = [
    path("meldinger/", views.mine, name="mine"),
    path("meldinger/ny/", views.new, name="new"),
    path("meldinger/<id:consultation_id>/", views.thread, name="thread"),
    path("meldinger/vedlegg/<id:attachment_id>/", views.attachment, name="attachment"),
]
