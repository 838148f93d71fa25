from __future__ import annotations

from django.urls import path

from . import views

app_name = "sms"

urlpatterns = [
    path("status/", views.status_callback, name="status"),
]
